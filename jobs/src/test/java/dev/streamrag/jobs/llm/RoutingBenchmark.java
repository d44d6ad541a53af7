package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.testsupport.LlmSimServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Routing policies against several llm-sim replicas with prefix caching, at the same offered load
 * in one JVM: the client-observed time to first token, end to end, goodput under a TTFT target, the
 * replicas' own prefix-cache hit ratio (from their {@code /metrics}), and what one routing decision
 * costs. A benchmark, not a test: it prints a table and writes a report.
 *
 * <p>Workload ({@link Workload}): a RAG deployment's prompts. A fixed system prompt (about 120
 * tokens), then the passages retrieval returns for the question's topic (three per topic, about
 * 2,300 tokens, topics Zipf-popular), then the question; three in ten requests continue a
 * conversation (its earlier turns first). Each replica's KV cache holds about 17 of the 120 topics,
 * as an 8B model on an L4 would: enough for the popular ones of the topics routed to it, not for
 * the popular ones of all of them.
 *
 * <p>Run: {@code ./mvnw -q -pl jobs -am install -DskipTests} once, then {@code ./mvnw -q -pl jobs
 * test-compile exec:exec -Dexec.executable=java -Dexec.args="-cp %classpath
 * dev.streamrag.jobs.llm.RoutingBenchmark [rates,...] [seconds] [replicas] [policies,...]"}.
 */
public final class RoutingBenchmark {
  private static final String MODEL = "llama-3.1-8b";
  private static final double TTFT_SLO_MS = 200;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private RoutingBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<Double> rates =
        java.util.Arrays.stream((args.length > 0 ? args[0] : "12").split(","))
            .map(Double::parseDouble)
            .toList();
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
    int replicas = args.length > 2 ? Integer.parseInt(args[2]) : 4;
    List<RoutingPolicy> policies =
        java.util.Arrays.stream(
                (args.length > 3
                        ? args[3]
                        : "ROUND_ROBIN,LEAST_OUTSTANDING,LOAD_AWARE,PREFIX_AFFINITY")
                    .split(","))
            .map(RoutingPolicy::valueOf)
            .toList();
    Path dir = Files.createTempDirectory("routing-benchmark");
    Path profile = dir.resolve("llama-3.1-8b-l4-kv.properties");
    Files.writeString(profile, PROFILE);
    List<String> rows = new ArrayList<>();
    rows.add(
        "| req/s | policy | requests | TTFT p50 ms | TTFT p90 ms | TTFT p99 ms | e2e p50 ms | goodput (TTFT ≤ "
            + (int) TTFT_SLO_MS
            + " ms) | prefix-cache hits | decision p50 / p99 µs |");
    rows.add("|---|---|---|---|---|---|---|---|---|---|");
    for (double rate : rates) {
      for (RoutingPolicy policy : policies) {
        // Fresh replicas per policy: every run starts with cold caches.
        List<LlmSimServer> servers = new ArrayList<>();
        try {
          for (int i = 0; i < replicas; i++) {
            servers.add(
                LlmSimServer.start(
                    dir,
                    "llama-3.1-8b-h100",
                    MODEL,
                    null,
                    List.of("--profile-file", profile.toString())));
          }
          Result result = run(policy, servers, rate, seconds);
          String row = String.format(Locale.ROOT, "| %.0f %s", rate, result.row());
          rows.add(row);
          System.out.println(row);
        } finally {
          servers.forEach(LlmSimServer::close);
        }
      }
    }
    String report =
        "# Routing policies (RoutingBenchmark, "
            + Instant.now()
            + ")\n\n"
            + String.format(
                Locale.ROOT,
                "%d llm-sim replicas, open-loop Poisson arrivals at each rate for %d s after a 10 s"
                    + " warm-up, fresh replicas per row, max_tokens 32, TTFT stamped by the client"
                    + " from the intended send time.%n%n",
                replicas,
                seconds)
            + String.join("\n", rows)
            + "\n";
    Path out = Path.of("target", "benchmarks");
    Files.createDirectories(out);
    Path file = out.resolve("routing-" + System.currentTimeMillis() + ".md");
    Files.writeString(file, report);
    System.out.println(report);
    System.out.println("report: " + file.toAbsolutePath());
  }

  /**
   * The h100 profile's timings with the KV cache an 8B model keeps on a 24 GB L4: 16 GB of weights
   * leave about 5.5 GB at 90% memory use, at 128 KiB per token (32 layers x 8 KV heads x 128 x 2 x
   * 2 bytes) about 42k tokens, 2,600 blocks of 16. The H100's faster prefill only makes the cache's
   * gain smaller.
   */
  private static final String PROFILE =
      """
      name=llama-3.1-8b-l4-kv
      maxNumSeqs=256
      maxNumBatchedTokens=8192
      kvBlocks=2600
      blockSize=16
      contextWindow=32768
      prefixCaching=true
      stepBaseMicros=6200
      prefillMicrosPerToken=30
      decodeMicrosPerSequence=180
      attentionMicrosPerContextToken=0.08
      """;

  private record Result(
      RoutingPolicy policy,
      int requests,
      double[] ttft,
      double[] e2e,
      double goodput,
      double hitRatio,
      double decisionP50Micros,
      double decisionP99Micros) {
    String row() {
      return String.format(
          Locale.ROOT,
          "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f%% | %.1f%% | %.1f / %.1f |",
          policy,
          requests,
          percentile(ttft, 50),
          percentile(ttft, 90),
          percentile(ttft, 99),
          percentile(e2e, 50),
          goodput * 100,
          hitRatio * 100,
          decisionP50Micros,
          decisionP99Micros);
    }
  }

  private static Result run(
      RoutingPolicy policy, List<LlmSimServer> servers, double rate, int seconds) throws Exception {
    List<URI> urls = servers.stream().map(s -> URI.create(s.baseUrl())).toList();
    RoutedChatCaller caller =
        RoutedChatCaller.builder()
            .client(StreamingChatClient.builder().build())
            .endpoints(urls)
            .routing(policy)
            .retryPolicy(new RetryPolicy(1, Duration.ofMillis(50), Duration.ofMillis(50)))
            .attemptTimeout(Duration.ofSeconds(60))
            .resilience(LlmResilienceSettings.defaults())
            .build();
    Workload workload = new Workload(new Random(42));
    Random arrivals = new Random(7);
    int warmupSeconds = 10;
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(warmupSeconds + seconds);
    long measureFrom = start + TimeUnit.SECONDS.toNanos(warmupSeconds);
    ConcurrentLinkedQueue<double[]> samples = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<LlmOutcome>> calls = new ArrayList<>();
    long[] before = null;
    double next = start;
    while (true) {
      next += -Math.log(1 - arrivals.nextDouble()) / rate * 1e9;
      if (next >= end) {
        break;
      }
      long wait = (long) next - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      if (before == null && next >= measureFrom) {
        before = cacheCounters(servers);
      }
      long intended = (long) next;
      boolean measured = intended >= measureFrom;
      List<ChatMessage> messages = workload.next();
      AtomicLong firstText = new AtomicLong();
      CompletableFuture<LlmOutcome> call =
          caller.call(
              new ChatCall(MODEL, messages, 32, 0.0, null, null, List.of(), true),
              System.currentTimeMillis() + 60_000,
              (attempt, endpoint) -> text -> firstText.compareAndSet(0, System.nanoTime()));
      call.thenAccept(
          outcome -> {
            if (measured && outcome.ok()) {
              long now = System.nanoTime();
              long first = firstText.get() == 0 ? now : firstText.get();
              samples.add(new double[] {(first - intended) / 1e6, (now - intended) / 1e6});
            }
          });
      calls.add(call);
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
    long[] after = cacheCounters(servers);
    double[] decisionNanos = routingDecisions(policy, urls.size(), workload);
    caller.close();
    double[] ttft = samples.stream().mapToDouble(s -> s[0]).sorted().toArray();
    double[] e2e = samples.stream().mapToDouble(s -> s[1]).sorted().toArray();
    long good = Arrays.stream(ttft).filter(t -> t <= TTFT_SLO_MS).count();
    double hits = after[1] - before[1];
    double queries = after[0] - before[0];
    return new Result(
        policy,
        ttft.length,
        ttft,
        e2e,
        ttft.length == 0 ? 0 : (double) good / ttft.length,
        queries == 0 ? 0 : hits / queries,
        percentile(decisionNanos, 50) / 1000,
        percentile(decisionNanos, 99) / 1000);
  }

  /**
   * The routing decision alone (prompt hashing plus {@link EndpointRouter#choose}), timed over the
   * same workload on a router of its own, away from the HTTP traffic's noise.
   */
  private static double[] routingDecisions(RoutingPolicy policy, int endpoints, Workload workload) {
    List<URI> urls = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      urls.add(URI.create("http://127.0.0.1:" + (9000 + i)));
    }
    EndpointRouter router = new EndpointRouter(urls, policy);
    int warmUp = 10_000;
    int n = 20_000;
    double[] nanos = new double[n];
    List<EndpointRouter.Endpoint> held = new ArrayList<>();
    for (int i = 0; i < warmUp + n; i++) {
      List<ChatMessage> messages = workload.next();
      long t0 = System.nanoTime();
      PrefixBlocks.Prefix blocks = router.usesPrefixes() ? PrefixBlocks.of(MODEL, messages) : null;
      EndpointRouter.Endpoint chosen = router.choose(null, blocks).endpoint();
      long took = System.nanoTime() - t0;
      if (i >= warmUp) { // after the JIT has compiled the path
        nanos[i - warmUp] = took;
      }
      held.add(chosen);
      if (held.size() > 32) { // about as many in flight as the run had
        router.release(held.remove(0), EndpointRouter.AttemptResult.SUCCESS, 1);
      }
    }
    router.close();
    Arrays.sort(nanos);
    return nanos;
  }

  /** Summed over the replicas: prefix-cache queries and hits, in tokens. */
  private static long[] cacheCounters(List<LlmSimServer> servers)
      throws IOException, InterruptedException {
    long queries = 0;
    long hits = 0;
    for (LlmSimServer server : servers) {
      String metrics =
          HTTP.send(
                  HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      queries += counter(metrics, "vllm:prefix_cache_queries_total");
      hits += counter(metrics, "vllm:prefix_cache_hits_total");
    }
    return new long[] {queries, hits};
  }

  private static long counter(String metrics, String name) {
    double total = PrometheusText.sum(metrics, name);
    return Double.isNaN(total) ? 0 : (long) total;
  }

  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.ceil(p / 100 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  /**
   * RAG prompts with shared contexts: a system prompt, the topic's passages, the question; 30% of
   * requests continue one of the open conversations, whose earlier turns come first.
   */
  static final class Workload {
    private static final int TOPICS = 120;
    private static final String SYSTEM =
        "You are a careful assistant. Answer only from the passages given, cite them by number,"
            + " and say so when they do not hold the answer. ".repeat(8);
    private final Random random;
    private final double[] zipf = new double[TOPICS];
    private final List<List<ChatMessage>> conversations = new ArrayList<>();

    Workload(Random random) {
      this.random = random;
      double sum = 0;
      for (int i = 0; i < TOPICS; i++) {
        sum += 1.0 / (i + 1);
        zipf[i] = sum;
      }
      for (int i = 0; i < TOPICS; i++) {
        zipf[i] /= sum;
      }
    }

    List<ChatMessage> next() {
      if (!conversations.isEmpty() && random.nextDouble() < 0.3) {
        int pick = random.nextInt(conversations.size());
        List<ChatMessage> turns = new ArrayList<>(conversations.get(pick));
        turns.add(new ChatMessage(ChatRole.ASSISTANT, answer(), null, null, List.of()));
        turns.add(new ChatMessage(ChatRole.USER, question(), null, null, List.of()));
        if (turns.size() > 10) {
          conversations.remove(pick); // a conversation ends after a few turns
        } else {
          conversations.set(pick, turns);
        }
        return turns;
      }
      int topic = topic();
      List<ChatMessage> prompt =
          List.of(
              new ChatMessage(ChatRole.SYSTEM, SYSTEM, null, null, List.of()),
              new ChatMessage(
                  ChatRole.USER,
                  passages(topic) + "\nQuestion: " + question(),
                  null,
                  null,
                  List.of()));
      if (random.nextDouble() < 0.2) {
        conversations.add(prompt);
        if (conversations.size() > 40) {
          conversations.remove(0);
        }
      }
      return prompt;
    }

    private int topic() {
      double u = random.nextDouble();
      int i = Arrays.binarySearch(zipf, u);
      return Math.min(TOPICS - 1, i >= 0 ? i : -i - 1);
    }

    /** Three passages of about 500 tokens, the same for a topic every time. */
    private static String passages(int topic) {
      StringBuilder text = new StringBuilder();
      Random words = new Random(topic * 7919L);
      for (int p = 1; p <= 3; p++) {
        text.append("[").append(p).append("] ");
        for (int w = 0; w < 400; w++) {
          text.append(WORDS[words.nextInt(WORDS.length)]).append(' ');
        }
        text.append('\n');
      }
      return text.toString();
    }

    private String question() {
      return "What does passage "
          + (1 + random.nextInt(3))
          + " say about "
          + WORDS[random.nextInt(WORDS.length)]
          + " and "
          + WORDS[random.nextInt(WORDS.length)]
          + "?";
    }

    private String answer() {
      StringBuilder text = new StringBuilder();
      for (int w = 0; w < 40; w++) {
        text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
      }
      return text.toString();
    }

    private static final String[] WORDS =
        ("river engine harbour council market signal orchard quarry lantern archive bridge"
                + " copper granite ledger meadow pilot quartz rail timber valve winter yard zinc"
                + " anchor basin canal delta ember forge glacier hollow inlet jetty kiln")
            .split(" ");
  }
}
