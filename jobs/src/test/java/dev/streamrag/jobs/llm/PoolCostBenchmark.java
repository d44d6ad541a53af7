package dev.streamrag.jobs.llm;

import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PoolPlacement;
import dev.streamrag.jobs.llm.pools.PooledChatCaller;
import dev.streamrag.jobs.llm.pools.PriceTable;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.testsupport.LlmSimServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * GPU-only fleets against GPU + CPU fleets at the same offered load and SLO, in one JVM: the cost
 * per 1k good requests (every server's list price for the measured time, over the requests that met
 * the SLO as the client saw them), for each fleet, chat prompt length and rate. A benchmark, not a
 * test: it prints a table and writes a report with the crossover (where the cheapest fleet that
 * meets the SLO stops having CPUs in it).
 *
 * <p>Workload: open-loop Poisson arrivals. A share of them are CHAT requests (a prompt of the given
 * length, 32 tokens out), the rest RAG prompts of {@link RoutingBenchmark.Workload} (about 2,400
 * tokens of shared passages, 32 tokens out). Placement is the inference job's ({@link
 * PooledChatCaller}): pools in order, a CPU pool first taking CHAT prompts up to a quarter of its
 * window while its 4 slots per server are free, the GPU pool the rest.
 *
 * <p>Servers: {@code l4} is Llama-3.1-8B on an L4 ({@link #L4_PROFILE}, priced as aws/g6.xlarge);
 * {@code cpu} is llm-sim's llama.cpp profile, Llama-3.2-1B Q4 (aws/c7i.2xlarge): the CPU answers
 * with a smaller model, as the reference deployments route easy tasks to one.
 *
 * <p>Run: {@code ./mvnw -q install -DskipTests} once, then {@code ./mvnw -q -pl jobs test-compile
 * exec:exec -Dexec.executable=java -Dexec.args="-cp %classpath
 * dev.streamrag.jobs.llm.PoolCostBenchmark [rates] [seconds] [chat prompt tokens] [fleets]
 * [ttft,e2e SLO ms]"}, fleets as {@code l4*2;cpu*2,l4*1} (a ';' between fleets, pools in placement
 * order).
 */
public final class PoolCostBenchmark {
  private static final String MODEL = "assistant";
  private static double ttftSloMs = 1_500;
  private static double e2eSloMs = 6_000;
  private static final double CHAT_SHARE = 0.7;
  private static final int MAX_TOKENS = 32;
  private static final int WARMUP_SECONDS = 8;
  private static final PriceTable PRICES = PriceTable.load(null);

  /**
   * Llama-3.1-8B (FP16) on one NVIDIA L4 24 GB, derived from the H100 profile by the two cards'
   * datasheets (L4: 121 TFLOPS dense FP16, 300 GB/s; H100 SXM: 989 TFLOPS, 3.35 TB/s). Decode is
   * bandwidth-bound: 16 GB of weights per step at 300 GB/s is 53 ms (18 tok/s alone). Prefill at
   * ~60 TFLOPS effective is 16 GFLOP / 60 TFLOPS = 270 us per token. KV: 24 GB x 0.9 - 16 GB of
   * weights leave ~5.5 GB, 2,600 blocks of 16 tokens at 128 KiB per token. vLLM's smaller-GPU
   * default budget of 2,048 batched tokens.
   */
  static final String L4_PROFILE =
      """
      name=llama-3.1-8b-l4
      maxNumSeqs=256
      maxNumBatchedTokens=2048
      kvBlocks=2600
      blockSize=16
      contextWindow=8192
      prefixCaching=true
      stepBaseMicros=53000
      prefillMicrosPerToken=270
      decodeMicrosPerSequence=500
      attentionMicrosPerContextToken=0.9
      """;

  /** A kind of server a fleet is made of. */
  private record Server(
      String key,
      String profile,
      boolean profileFile,
      ModelPool.Hardware hardware,
      String cloud,
      String type,
      int contextWindow,
      int slots) {}

  private static final Map<String, Server> SERVERS =
      Map.of(
          "l4",
          new Server(
              "l4", "llama-3.1-8b-l4", true, ModelPool.Hardware.GPU, "aws", "g6.xlarge", 8192, 256),
          "cpu",
          new Server(
              "cpu",
              "llama-3.2-1b-cpu",
              false,
              ModelPool.Hardware.CPU,
              "aws",
              "c7i.2xlarge",
              2048,
              4));

  private PoolCostBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<Double> rates =
        Arrays.stream((args.length > 0 ? args[0] : "2,4").split(","))
            .map(Double::parseDouble)
            .toList();
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 40;
    List<Integer> chatTokens =
        Arrays.stream((args.length > 2 ? args[2] : "100,400").split(","))
            .map(Integer::parseInt)
            .toList();
    List<String> fleets =
        List.of((args.length > 3 ? args[3] : "l4*1;l4*2;cpu*1,l4*1;cpu*2,l4*1").split(";"));
    if (args.length > 4) {
      String[] slo = args[4].split(",");
      ttftSloMs = Double.parseDouble(slo[0]);
      e2eSloMs = Double.parseDouble(slo[1]);
    }
    Path dir = Files.createTempDirectory("pool-cost-benchmark");
    Path l4 = dir.resolve("llama-3.1-8b-l4.properties");
    Files.writeString(l4, L4_PROFILE);

    List<Result> results = new ArrayList<>();
    List<String> rows = new ArrayList<>();
    rows.add(
        "| req/s | chat prompt tokens | fleet | $/h | requests | good | TTFT p50 / p99 ms | e2e p50"
            + " / p99 ms | by pool | $ per 1k good |");
    rows.add("|---|---|---|---|---|---|---|---|---|---|");
    for (double rate : rates) {
      for (int tokens : chatTokens) {
        for (String fleet : fleets) {
          Result result = run(dir, l4, fleet.strip(), rate, tokens, seconds);
          results.add(result);
          rows.add(result.row());
          System.out.println(result.row());
        }
      }
    }
    String report =
        "# GPU-only and GPU + CPU fleets (PoolCostBenchmark, "
            + Instant.now()
            + ")\n\n"
            + String.format(
                Locale.ROOT,
                "Open-loop Poisson arrivals for %d s after a %d s warm-up, %.0f%% CHAT, the rest"
                    + " RAG (~2,400 tokens), %d tokens out; fresh servers per row. SLO: TTFT ≤ %.0f"
                    + " ms and e2e ≤ %.0f ms, stamped by the client from the intended send time."
                    + " Cost: every server's list price for the measured window (the drain after it"
                    + " is not priced).%n%n",
                seconds,
                WARMUP_SECONDS,
                CHAT_SHARE * 100,
                MAX_TOKENS,
                ttftSloMs,
                e2eSloMs)
            + String.join("\n", rows)
            + "\n\n"
            + cheapest(results)
            + "\n";
    Path out = Path.of("target", "benchmarks");
    Files.createDirectories(out);
    Path file = out.resolve("pool-cost-" + System.currentTimeMillis() + ".md");
    Files.writeString(file, report);
    System.out.println(report);
    System.out.println("report: " + file.toAbsolutePath());
  }

  /**
   * For each rate and prompt length: the cheapest GPU-only fleet and the cheapest fleet with CPUs
   * that meet the SLO for 99% of requests, and what the second saves.
   */
  static String cheapest(List<Result> results) {
    Map<String, Result[]> best = new TreeMap<>();
    for (Result r : results) {
      if (r.goodShare() < 0.99) {
        continue;
      }
      String key = String.format(Locale.ROOT, "%06.1f|%05d", r.rate(), r.chatTokens());
      Result[] pair = best.computeIfAbsent(key, k -> new Result[2]);
      int slot = r.hasCpu() ? 1 : 0;
      if (pair[slot] == null || r.usdPer1kGood() < pair[slot].usdPer1kGood()) {
        pair[slot] = r;
      }
    }
    StringBuilder table =
        new StringBuilder(
            "Cheapest fleet meeting the SLO for ≥ 99% of requests:\n\n"
                + "| req/s | chat prompt tokens | GPU only | $ per 1k good | with CPUs | $ per 1k"
                + " good | mixed vs GPU only |\n|---|---|---|---|---|---|---|\n");
    for (Result[] pair : best.values()) {
      Result any = pair[0] != null ? pair[0] : pair[1];
      table.append(
          String.format(
              Locale.ROOT,
              "| %.0f | %d | %s | %s | %s | %s | %s |%n",
              any.rate(),
              any.chatTokens(),
              pair[0] == null ? "none met it" : pair[0].fleet(),
              pair[0] == null ? "-" : String.format(Locale.ROOT, "%.4f", pair[0].usdPer1kGood()),
              pair[1] == null ? "none met it" : pair[1].fleet(),
              pair[1] == null ? "-" : String.format(Locale.ROOT, "%.4f", pair[1].usdPer1kGood()),
              pair[0] == null || pair[1] == null
                  ? "-"
                  : String.format(
                      Locale.ROOT,
                      "%+.0f%%",
                      (pair[1].usdPer1kGood() / pair[0].usdPer1kGood() - 1) * 100)));
    }
    return table.toString();
  }

  record Result(
      double rate,
      int chatTokens,
      String fleet,
      boolean hasCpu,
      double usdPerHour,
      int requests,
      long good,
      double[] ttft,
      double[] e2e,
      Map<String, Long> byPool,
      double measuredSeconds) {
    double goodShare() {
      return requests == 0 ? 0 : (double) good / requests;
    }

    double usdPer1kGood() {
      return good == 0
          ? Double.POSITIVE_INFINITY
          : usdPerHour * measuredSeconds / 3600 / good * 1000;
    }

    String row() {
      return String.format(
          Locale.ROOT,
          "| %.0f | %d | %s | %.3f | %d | %.1f%% | %.0f / %.0f | %.0f / %.0f | %s | %.4f |",
          rate,
          chatTokens,
          fleet,
          usdPerHour,
          requests,
          goodShare() * 100,
          RoutingBenchmark.percentile(ttft, 50),
          RoutingBenchmark.percentile(ttft, 99),
          RoutingBenchmark.percentile(e2e, 50),
          RoutingBenchmark.percentile(e2e, 99),
          byPool,
          usdPer1kGood());
    }
  }

  private static Result run(
      Path dir, Path l4Profile, String fleet, double rate, int chatTokens, int seconds)
      throws Exception {
    List<LlmSimServer> servers = new ArrayList<>();
    List<ModelPool> pools = new ArrayList<>();
    try {
      for (String part : fleet.split(",")) {
        String[] keyAndCount = part.strip().split("\\*");
        Server server = SERVERS.get(keyAndCount[0]);
        if (server == null) {
          throw new IllegalArgumentException(
              "unknown server '"
                  + keyAndCount[0]
                  + "' in fleet "
                  + fleet
                  + "; known "
                  + SERVERS.keySet());
        }
        int count = keyAndCount.length > 1 ? Integer.parseInt(keyAndCount[1]) : 1;
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          LlmSimServer sim =
              server.profileFile()
                  ? LlmSimServer.start(
                      dir,
                      "llama-3.1-8b-h100",
                      MODEL,
                      null,
                      List.of("--profile-file", l4Profile.toString()))
                  : LlmSimServer.start(dir, server.profile(), MODEL, null);
          servers.add(sim);
          urls.add(sim.baseUrl());
        }
        boolean cpu = server.hardware() == ModelPool.Hardware.CPU;
        pools.add(
            new ModelPool(
                server.key(),
                List.of(MODEL),
                urls,
                server.hardware(),
                PRICES.find(server.cloud(), server.type()).orElseThrow(),
                RoutingPolicy.PREFIX_AFFINITY,
                server.contextWindow(),
                server.slots(),
                cpu ? server.contextWindow() / 4 : 0,
                cpu ? List.of(RequestKind.CHAT) : List.of()));
      }
      return drive(pools, fleet, rate, chatTokens, seconds);
    } finally {
      servers.forEach(LlmSimServer::close);
    }
  }

  private static Result drive(
      List<ModelPool> pools, String fleet, double rate, int chatTokens, int seconds)
      throws Exception {
    PooledChatCaller caller =
        new PooledChatCaller(
            pools,
            pool ->
                RoutedChatCaller.builder()
                    .client(StreamingChatClient.builder().build())
                    .endpoints(pool.endpoints().stream().map(URI::create).toList())
                    .routing(pool.routing())
                    .retryPolicy(new RetryPolicy(1, Duration.ofMillis(50), Duration.ofMillis(50)))
                    .attemptTimeout(Duration.ofSeconds(60))
                    .resilience(LlmResilienceSettings.defaults())
                    .build(),
            1);
    RoutingBenchmark.Workload rag = new RoutingBenchmark.Workload(new Random(42));
    Random random = new Random(7);
    long start = System.nanoTime();
    long measureFrom = start + TimeUnit.SECONDS.toNanos(WARMUP_SECONDS);
    long end = measureFrom + TimeUnit.SECONDS.toNanos(seconds);
    ConcurrentLinkedQueue<double[]> samples = new ConcurrentLinkedQueue<>();
    Map<String, Long> byPool = new ConcurrentHashMap<>();
    AtomicLong requests = new AtomicLong();
    List<CompletableFuture<?>> calls = new ArrayList<>();
    double next = start;
    while (true) {
      next += -Math.log(1 - random.nextDouble()) / rate * 1e9;
      if (next >= end) {
        break;
      }
      long wait = (long) next - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      long intended = (long) next;
      boolean measured = intended >= measureFrom;
      boolean chat = random.nextDouble() < CHAT_SHARE;
      List<ChatMessage> messages =
          chat
              ? List.of(
                  new ChatMessage(
                      ChatRole.USER, chatPrompt(random, chatTokens), null, null, List.of()))
              : rag.next();
      int estimate = estimateTokens(messages);
      PoolPlacement.Decision placement =
          caller.place(
              new PoolPlacement.Request(
                  MODEL, chat ? RequestKind.CHAT : RequestKind.RAG, estimate, MAX_TOKENS));
      if (measured) {
        requests.incrementAndGet();
      }
      if (!placement.placed()) {
        continue; // counted, never good
      }
      AtomicLong firstText = new AtomicLong();
      CompletableFuture<PooledChatCaller.Pooled> call =
          caller.call(
              placement,
              new ChatCall(MODEL, messages, MAX_TOKENS, 0.0, null, null, List.of(), true),
              System.currentTimeMillis() + 60_000,
              (attempt, endpoint) -> text -> firstText.compareAndSet(0, System.nanoTime()));
      calls.add(
          call.thenAccept(
              pooled -> {
                if (measured && pooled.outcome() != null && pooled.outcome().ok()) {
                  long now = System.nanoTime();
                  long first = firstText.get() == 0 ? now : firstText.get();
                  samples.add(new double[] {(first - intended) / 1e6, (now - intended) / 1e6});
                  byPool.merge(pooled.pool().name(), 1L, Long::sum);
                }
              }));
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(3, TimeUnit.MINUTES);
    caller.close();
    double[] ttft = samples.stream().mapToDouble(s -> s[0]).sorted().toArray();
    double[] e2e = samples.stream().mapToDouble(s -> s[1]).sorted().toArray();
    long good = samples.stream().filter(s -> s[0] <= ttftSloMs && s[1] <= e2eSloMs).count();
    double usdPerHour = pools.stream().mapToDouble(ModelPool::usdPerHour).sum();
    return new Result(
        rate,
        chatTokens,
        fleet,
        pools.stream().anyMatch(p -> p.hardware() == ModelPool.Hardware.CPU),
        usdPerHour,
        (int) requests.get(),
        good,
        ttft,
        e2e,
        new TreeMap<>(byPool),
        seconds);
  }

  /** The job's estimate: characters / 3 (llm.chars-per-token) plus 4 per message. */
  private static int estimateTokens(List<ChatMessage> messages) {
    int chars = 0;
    for (ChatMessage message : messages) {
      chars += message.getContent().length();
    }
    return (int) Math.ceil(chars / 3.0) + 4 * messages.size();
  }

  /** A chat prompt of about {@code tokens} tokens by llm-sim's tokenizer (words of ~2 tokens). */
  private static String chatPrompt(Random random, int tokens) {
    StringBuilder text = new StringBuilder("Please help with this: ");
    String[] words = {"river", "engine", "harbour", "council", "market", "signal", "orchard"};
    for (int i = 0; i < tokens / 2; i++) {
      text.append(words[random.nextInt(words.length)]).append(' ');
    }
    return text.append('?').toString();
  }
}
