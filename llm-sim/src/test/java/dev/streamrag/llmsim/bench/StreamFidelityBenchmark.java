package dev.streamrag.llmsim.bench;

import dev.streamrag.llmsim.bench.StreamingLoadClient.Measured;
import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.EngineProfiles;
import dev.streamrag.llmsim.engine.SequenceRequest;
import dev.streamrag.llmsim.engine.VirtualTimeRun;
import dev.streamrag.llmsim.server.CompletionTimeline;
import dev.streamrag.llmsim.server.FaultPlan;
import dev.streamrag.llmsim.server.SimServer;
import dev.streamrag.llmsim.text.ApproximateTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Is the simulator the bottleneck? N concurrent streaming clients (default 500) hit a real llm-sim
 * server in this JVM. The server reports when each request arrived and when it wrote each request's
 * first and last token ({@link CompletionTimeline}); the clients record when they read them. The
 * same arrivals run through the latency model on a simulated clock ({@link VirtualTimeRun}): that
 * is what the model scheduled. Within 5% means the HTTP front end, its event loops and the engine
 * thread add little to what the model says.
 *
 * <p>Server and clients share one clock ({@link System#nanoTime()}), so the report also splits the
 * client's view into the server's part and delivery (server write to client read), which on a
 * 2-core box is mostly the load generator competing for the same cores.
 *
 * <pre>
 * ./mvnw -q -pl llm-sim test-compile exec:java \
 *   -Dexec.mainClass=dev.streamrag.llmsim.bench.StreamFidelityBenchmark \
 *   -Dexec.args="--streams 500 --output-tokens 64 --profile llama-3.1-8b-h100 --event-loops 1,2"
 * </pre>
 *
 * <p>Each configuration gets a fresh server, warmed up with {@code --warm-up-rounds} (default 2)
 * runs of the same workload before the measured one.
 */
public final class StreamFidelityBenchmark {
  private StreamFidelityBenchmark() {}

  public static void main(String[] args) throws Exception {
    int streams = intArg(args, "--streams", 500);
    int outputTokens = intArg(args, "--output-tokens", 64);
    String profileName = stringArg(args, "--profile", "llama-3.1-8b-h100");
    String[] loopCounts = stringArg(args, "--event-loops", "1,2").split(",");
    int warmUpRounds = intArg(args, "--warm-up-rounds", 2);
    EngineProfile profile = EngineProfiles.bundled(profileName);

    StringBuilder report = new StringBuilder();
    report.append(
        String.format(
            "# llm-sim stream fidelity%n%n%d concurrent streaming clients in one JVM with the"
                + " server, %d output tokens each, profile `%s`, %d cores.%n",
            streams, outputTokens, profileName, Runtime.getRuntime().availableProcessors()));
    for (String loops : loopCounts) {
      report.append(
          run(profile, streams, outputTokens, Integer.parseInt(loops.trim()), warmUpRounds));
    }
    System.out.print(report);
    Path out = Path.of("target", "benchmarks", "stream-fidelity.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
    System.out.println("report: " + out.toAbsolutePath());
  }

  /** One measurement against a fresh server with {@code eventLoops} HTTP event loops. */
  private static String run(
      EngineProfile profile, int streams, int outputTokens, int eventLoops, int warmUpRounds)
      throws Exception {
    // The same question from every client: the prompt is one sentence plus the question.
    String content =
        "Background: the sea is deep and wide and full of fish.\\nTell me about the sea.";
    try (SimServer server =
            SimServer.start(profile, "bench", 0, 1 << 20, FaultPlan.NONE, eventLoops);
        StreamingLoadClient client = new StreamingLoadClient(server.port(), streams)) {
      warmUp(client, content, streams, outputTokens, warmUpRounds);
      Map<String, CompletionTimeline> timelines = new ConcurrentHashMap<>();
      server.observeCompletions(timeline -> timelines.put(timeline.id(), timeline));

      System.out.printf(
          "llm-sim stream fidelity: %d concurrent streams, %d output tokens, profile %s,"
              + " %d event loop(s)%n",
          streams, outputTokens, profile.name(), eventLoops);
      List<CompletableFuture<Measured>> futures = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        futures.add(client.stream("bench", content, outputTokens));
      }
      List<Measured> measured = new ArrayList<>();
      for (CompletableFuture<Measured> future : futures) {
        measured.add(future.get(10, TimeUnit.MINUTES));
      }
      server.observeCompletions(null);
      if (timelines.size() != streams) {
        throw new IllegalStateException(
            "server reported " + timelines.size() + " timelines for " + streams + " streams");
      }

      // What the model schedules for the arrivals the server saw. Every request has the prompt
      // the server counted; the engine only needs its length.
      long origin = timelines.values().stream().mapToLong(t -> t.arrivedNanos()).min().orElse(0);
      int promptTokens = promptTokens(content);
      List<VirtualTimeRun.Arrival> arrivals = new ArrayList<>();
      for (CompletionTimeline t : timelines.values()) {
        arrivals.add(
            new VirtualTimeRun.Arrival(
                (t.arrivedNanos() - origin) / 1_000,
                new SequenceRequest(t.id(), new int[promptTokens], t.outputTokens())));
      }
      VirtualTimeRun.Result model = VirtualTimeRun.run(profile, arrivals);

      List<CompletionTimeline> served = List.copyOf(timelines.values());
      double[] modelTtft = sorted(served, t -> model.outcome(t.id()).ttftMicros() / 1e3);
      double[] modelTpot = sorted(served, t -> model.outcome(t.id()).tpotMicros() / 1e3);
      double[] serverTtft = sorted(served, t -> (t.firstWriteNanos() - t.arrivedNanos()) / 1e6);
      double[] serverTpot =
          sorted(
              served,
              t -> (t.lastWriteNanos() - t.firstWriteNanos()) / 1e6 / (t.outputTokens() - 1));
      double[] frontEnd = sorted(served, t -> (t.submittedNanos() - t.arrivedNanos()) / 1e6);
      double[] engineTtft = sorted(served, t -> (t.firstEmittedNanos() - t.arrivedNanos()) / 1e6);
      double[] dispatch = sorted(served, t -> (t.firstWriteNanos() - t.firstEmittedNanos()) / 1e6);
      double[] clientTtft = new double[measured.size()];
      double[] delivery = new double[measured.size()];
      double[] connect = new double[measured.size()];
      for (int i = 0; i < measured.size(); i++) {
        Measured m = measured.get(i);
        CompletionTimeline t = timelines.get(m.id());
        clientTtft[i] = (m.firstReadNanos() - m.sentNanos()) / 1e6;
        delivery[i] = (m.firstReadNanos() - t.firstWriteNanos()) / 1e6;
        connect[i] = (t.arrivedNanos() - m.sentNanos()) / 1e6;
      }
      Arrays.sort(clientTtft);
      Arrays.sort(delivery);
      Arrays.sort(connect);

      StringBuilder report = new StringBuilder();
      report.append(String.format("%n## %d event loop(s)%n%n", eventLoops));
      report.append(
          "What the server delivered (arrival to socket write) against what the model scheduled"
              + " for the same arrivals:\n\n");
      report.append("| metric | model (ms) | server (ms) | server / model |\n|---|---|---|---|\n");
      row(report, "TTFT mean", mean(modelTtft), mean(serverTtft));
      row(report, "TTFT p50", pct(modelTtft, 50), pct(serverTtft, 50));
      row(report, "TTFT p99", pct(modelTtft, 99), pct(serverTtft, 99));
      row(report, "TTFT mean, engine hand-out", mean(modelTtft), mean(engineTtft));
      row(report, "TPOT mean", mean(modelTpot), mean(serverTpot));
      row(report, "TPOT p50", pct(modelTpot, 50), pct(serverTpot, 50));
      row(report, "TPOT p99", pct(modelTpot, 99), pct(serverTpot, 99));
      report.append(
          String.format(
              "%nWhere the rest of a client's TTFT went (ms, mean / p99): client send to server"
                  + " arrival %.2f / %.2f; arrival to engine %.3f / %.3f; engine hand-out to write %.2f / %.2f; first token write to"
                  + " client read %.2f / %.2f; client TTFT %.2f / %.2f.%n",
              mean(connect),
              pct(connect, 99),
              mean(frontEnd),
              pct(frontEnd, 99),
              mean(dispatch),
              pct(dispatch, 99),
              mean(delivery),
              pct(delivery, 99),
              mean(clientTtft),
              pct(clientTtft, 99)));
      report.append(
          String.format(
              "Arrivals spread over %.1f ms; peak running in the model %d; simulated duration"
                  + " %.2f s.%n",
              (served.stream().mapToLong(CompletionTimeline::arrivedNanos).max().orElse(0) - origin)
                  / 1e6,
              model.peakRunning(),
              model.endMicros() / 1e6));
      return report.toString();
    }
  }

  /** The prompt length the server counts for one user message: role, content and template. */
  private static int promptTokens(String content) {
    return ApproximateTokenizer.count("user\n" + content.replace("\\n", "\n") + "\n") + 4 + 2;
  }

  private static double[] sorted(
      List<CompletionTimeline> timelines, ToDoubleFunction<CompletionTimeline> value) {
    return timelines.stream().mapToDouble(value).sorted().toArray();
  }

  /**
   * Runs the measured workload's shape {@code rounds} times first, so the JIT has compiled the
   * request and token paths: compiler threads busy during the measurement would take CPU from the
   * event loops on a 2-core box and show up as late first tokens.
   */
  private static void warmUp(
      StreamingLoadClient client, String content, int streams, int outputTokens, int rounds)
      throws Exception {
    for (int round = 0; round < rounds; round++) {
      List<CompletableFuture<Measured>> warm = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        warm.add(client.stream("bench", content, outputTokens));
      }
      for (CompletableFuture<Measured> future : warm) {
        future.get(10, TimeUnit.MINUTES);
      }
    }
  }

  private static void row(StringBuilder report, String name, double model, double measured) {
    report.append(
        String.format("| %s | %.2f | %.2f | %.3f |%n", name, model, measured, measured / model));
  }

  private static double mean(double[] values) {
    return Arrays.stream(values).average().orElse(Double.NaN);
  }

  private static double pct(double[] sorted, double percentile) {
    return sorted[
        Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100 * sorted.length) - 1)];
  }

  private static int intArg(String[] args, String name, int fallback) {
    String value = stringArg(args, name, null);
    return value == null ? fallback : Integer.parseInt(value);
  }

  private static String stringArg(String[] args, String name, String fallback) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return fallback;
  }
}
