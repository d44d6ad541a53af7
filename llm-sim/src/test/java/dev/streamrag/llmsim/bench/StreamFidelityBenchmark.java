package dev.streamrag.llmsim.bench;

import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.EngineProfiles;
import dev.streamrag.llmsim.engine.SequenceRequest;
import dev.streamrag.llmsim.engine.VirtualTimeRun;
import dev.streamrag.llmsim.server.SimServer;
import dev.streamrag.llmsim.text.ApproximateTokenizer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * Is the simulator the bottleneck? N concurrent streaming clients (default 500) hit a real llm-sim
 * server in this JVM; each records when it sent its request and when each SSE token arrived. The
 * same arrivals run through the latency model on a simulated clock ({@link VirtualTimeRun}), which
 * is what the model scheduled. The report compares client-measured TTFT and TPOT with the model's:
 * within 5% means the server, its event loop and the client add little to what the model says.
 *
 * <pre>
 * ./mvnw -q -pl llm-sim test-compile exec:java \
 *   -Dexec.mainClass=dev.streamrag.llmsim.bench.StreamFidelityBenchmark \
 *   -Dexec.args="--streams 500 --output-tokens 64 --profile llama-3.1-8b-h100"
 * </pre>
 */
public final class StreamFidelityBenchmark {
  private StreamFidelityBenchmark() {}

  /**
   * Times of one stream; {@code acceptedNanos} is when the SSE headers arrived (server accepted).
   */
  record Measured(
      long sentNanos, long acceptedNanos, long firstTokenNanos, long lastTokenNanos, int tokens) {}

  public static void main(String[] args) throws Exception {
    int streams = intArg(args, "--streams", 500);
    int outputTokens = intArg(args, "--output-tokens", 64);
    String profileName = stringArg(args, "--profile", "llama-3.1-8b-h100");
    EngineProfile profile = EngineProfiles.bundled(profileName);
    // The same question from every client: the prompt is one sentence plus the question.
    String content =
        "Background: the sea is deep and wide and full of fish.\\nTell me about the sea.";

    try (SimServer server = SimServer.start(profile, "bench", 0, 1 << 20)) {
      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(30))
              .build();
      warmUp(http, server, content);
      String warm = scrapeMetrics(http, server);
      double[] warmUpSums = {
        series(warm, "vllm:time_to_first_token_seconds_sum"),
        series(warm, "vllm:time_to_first_token_seconds_count"),
        series(warm, "vllm:time_per_output_token_seconds_sum"),
        series(warm, "vllm:time_per_output_token_seconds_count")
      };

      System.out.printf(
          "llm-sim stream fidelity: %d concurrent streams, %d output tokens, profile %s%n",
          streams, outputTokens, profileName);
      long origin = System.nanoTime();
      List<CompletableFuture<Measured>> futures = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        futures.add(stream(http, server, content, outputTokens));
      }
      List<Measured> measured = new ArrayList<>();
      for (CompletableFuture<Measured> future : futures) {
        measured.add(future.get(10, TimeUnit.MINUTES));
      }

      // The model's schedule for the same arrivals. The prompt's token count is the server's:
      // 2 messages' worth of template is not added for one user message, so count it the same way.
      int promptTokens =
          ApproximateTokenizer.count("user\n" + content.replace("\\n", "\n") + "\n") + 4 + 2;
      List<VirtualTimeRun.Arrival> arrivals = new ArrayList<>();
      int[] prompt = new int[promptTokens];
      for (int i = 0; i < measured.size(); i++) {
        arrivals.add(
            new VirtualTimeRun.Arrival(
                (measured.get(i).sentNanos() - origin) / 1_000,
                new SequenceRequest("r" + i, prompt, measured.get(i).tokens())));
      }
      VirtualTimeRun.Result model = VirtualTimeRun.run(profile, arrivals);

      double[] measuredTtft =
          measured.stream()
              .mapToDouble(m -> (m.firstTokenNanos() - m.sentNanos()) / 1e6)
              .sorted()
              .toArray();
      double[] measuredTpot =
          measured.stream()
              .filter(m -> m.tokens() > 1)
              .mapToDouble(m -> (m.lastTokenNanos() - m.firstTokenNanos()) / 1e6 / (m.tokens() - 1))
              .sorted()
              .toArray();
      double[] modelTtft =
          model.outcomes().values().stream()
              .mapToDouble(o -> o.ttftMicros() / 1e3)
              .sorted()
              .toArray();
      double[] modelTpot =
          model.outcomes().values().stream()
              .filter(o -> o.outputTokens() > 1)
              .mapToDouble(o -> o.tpotMicros() / 1e3)
              .sorted()
              .toArray();

      String metrics = scrapeMetrics(http, server);
      // The server's own view (written to the socket), net of the warm-up streams.
      double serverTtft =
          (histogramMean(metrics, "vllm:time_to_first_token_seconds", warmUpSums[0], warmUpSums[1]))
              * 1e3;
      double serverTpot =
          (histogramMean(
                  metrics, "vllm:time_per_output_token_seconds", warmUpSums[2], warmUpSums[3]))
              * 1e3;

      StringBuilder report = new StringBuilder();
      report.append(
          String.format(
              "# llm-sim stream fidelity%n%n%d concurrent streaming clients in one JVM with the server, %d output tokens each, profile `%s`, %d cores.%n%n",
              streams, outputTokens, profileName, Runtime.getRuntime().availableProcessors()));
      report.append(
          "| metric | model (ms) | measured (ms) | measured / model |\n|---|---|---|---|\n");
      row(report, "TTFT mean", mean(modelTtft), mean(measuredTtft));
      row(report, "TTFT mean, server side", mean(modelTtft), serverTtft);
      row(report, "TTFT p50", pct(modelTtft, 50), pct(measuredTtft, 50));
      row(report, "TTFT p99", pct(modelTtft, 99), pct(measuredTtft, 99));
      row(report, "TPOT mean", mean(modelTpot), mean(measuredTpot));
      row(report, "TPOT mean, server side", mean(modelTpot), serverTpot);
      row(report, "TPOT p50", pct(modelTpot, 50), pct(measuredTpot, 50));
      row(report, "TPOT p99", pct(modelTpot, 99), pct(measuredTpot, 99));
      report.append(
          String.format(
              "%nPeak running in the model: %d; simulated duration %.2f s.%n",
              model.peakRunning(), model.endMicros() / 1e6));
      System.out.print(report);
      Path out = Path.of("target", "benchmarks", "stream-fidelity.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, report.toString());
      System.out.println("report: " + out.toAbsolutePath());
    }
  }

  /**
   * One streaming request, read without a thread of its own: a line subscriber timestamps each
   * token as the HTTP client's selector delivers it (a blocking reader per stream would put 500
   * threads on two cores and measure the load generator instead of the server).
   */
  private static CompletableFuture<Measured> stream(
      HttpClient http, SimServer server, String content, int outputTokens) {
    String body =
        "{\"model\":\"bench\",\"stream\":true,\"min_tokens\":"
            + outputTokens
            + ",\"max_tokens\":"
            + outputTokens
            + ",\"messages\":[{\"role\":\"user\",\"content\":\""
            + content
            + "\"}]}";
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    long sent = System.nanoTime();
    TokenTimer timer = new TokenTimer();
    return http.sendAsync(
            request,
            responseInfo -> {
              timer.acceptedNanos = System.nanoTime();
              return HttpResponse.BodySubscribers.fromLineSubscriber(timer);
            })
        .thenApply(
            response -> {
              if (response.statusCode() != 200 || timer.tokens == 0) {
                throw new IllegalStateException("stream failed: HTTP " + response.statusCode());
              }
              return new Measured(
                  sent, timer.acceptedNanos, timer.firstNanos, timer.lastNanos, timer.tokens);
            });
  }

  /** Timestamps token lines as they arrive; the HTTP client calls it on its own threads. */
  private static final class TokenTimer implements Flow.Subscriber<String> {
    volatile long acceptedNanos;
    volatile long firstNanos;
    volatile long lastNanos;
    volatile int tokens;

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (line.startsWith("data: {")
          && line.contains("\"content\":\"")
          && !line.contains("\"role\"")) {
        long now = System.nanoTime();
        if (tokens++ == 0) {
          firstNanos = now;
        }
        lastNanos = now;
      }
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onComplete() {}
  }

  private static void warmUp(HttpClient http, SimServer server, String content) throws Exception {
    List<CompletableFuture<Measured>> warm = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      warm.add(stream(http, server, content, 16));
    }
    for (CompletableFuture<Measured> future : warm) {
      future.get(2, TimeUnit.MINUTES);
    }
  }

  private static String scrapeMetrics(HttpClient http, SimServer server)
      throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static double series(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + "{")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new IllegalStateException(name + " missing from /metrics");
  }

  private static double histogramMean(
      String metrics, String name, double sumBefore, double countBefore) {
    return (series(metrics, name + "_sum") - sumBefore)
        / (series(metrics, name + "_count") - countBefore);
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
