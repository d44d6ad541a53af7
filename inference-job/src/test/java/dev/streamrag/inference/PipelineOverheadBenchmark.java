package dev.streamrag.inference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.KafkaServer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.OpenSearchServer;
import dev.streamrag.testsupport.RedisServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Pipeline overhead of the inference job on this machine: everything but the LLM's own time ({@code
 * totalMs - llmMs}, from the request's intended send time to the response's emission), at rising
 * open-loop request rates until the job no longer keeps up; then the end-to-end latency of
 * response-cache hits. Real Kafka, OpenSearch, Redis and llm-sim (qwen2.5-0.5b-l4 profile), the job
 * on a local MiniCluster at parallelism 1, all on this machine's cores.
 *
 * <pre>
 * ./mvnw -q -pl inference-job test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.args="-cp %classpath dev.streamrag.inference.PipelineOverheadBenchmark 15 5,10,20,40,60"
 * </pre>
 *
 * Arguments: seconds per rate (default 15), rates in requests/s (default 5,10,20,40,60), then any
 * job settings as {@code --key value} (e.g. {@code --inference.buffer-timeout 100ms}).
 */
public final class PipelineOverheadBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "qwen2.5-0.5b-l4";

  private PipelineOverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    String rateList = args.length > 1 ? args[1] : "5,10,20,40,60";
    Path dir = Files.createTempDirectory("overhead-bench");
    try (KafkaServer kafka = KafkaServer.start(dir);
        OpenSearchServer opensearch = OpenSearchServer.start(dir, "512m");
        RedisServer redis = RedisServer.start(dir);
        LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null)) {
      DemoCorpus corpus = DemoCorpus.generate(5, 200, List.of("acme", "globex"));
      String bootstrap = kafka.bootstrapServers();
      TestStack.ingest(corpus, dir, opensearch.uri().toString(), bootstrap, "bench-chunks");
      TestStack.createTopics(bootstrap, "requests", "responses", "latency", "dlq");
      Configuration config =
          JobConfig.load(
              settings(
                  args,
                  "--kafka.bootstrap-servers",
                  bootstrap,
                  "--inference.requests-topic",
                  "requests",
                  "--inference.responses-topic",
                  "responses",
                  "--inference.latency-topic",
                  "latency",
                  "--inference.dead-letter-topic",
                  "dlq",
                  "--llm.endpoints",
                  llm.baseUrl(),
                  "--llm.models",
                  MODEL,
                  "--redis.url",
                  redis.uri(),
                  "--opensearch.url",
                  opensearch.uri().toString(),
                  "--retrieval.index",
                  "bench-chunks"),
              Map.of(),
              InferenceOptions.ALL);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.setParallelism(1);
      env.enableCheckpointing(1_000);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("overhead-bench");
      StringBuilder report = new StringBuilder();
      report.append("settings: ").append(String.join(" ", extra(args))).append("\n\n");
      report.append(
          "| offered req/s | answered req/s | OK | overhead p50 ms | overhead p99 ms |"
              + " e2e p50 ms | LLM p50 ms |\n|---|---|---|---|---|---|---|\n");
      StringBuilder stages =
          new StringBuilder(
              "\nPer stage, p50 / p99 ms:\n\n| offered req/s | queue | cache | embed | retrieve"
                  + " | prompt | TTFT |\n|---|---|---|---|---|---|---|\n");
      try (TestStack.Reader<InferenceResponse> responses =
              new TestStack.Reader<>(bootstrap, "responses", InferenceResponse.class);
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  Map.of("bootstrap.servers", bootstrap, "linger.ms", 0),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
        List<QaPair> questions = new ArrayList<>(corpus.questions());
        Collections.shuffle(questions, new java.util.Random(3));
        int[] counter = {0};
        // Warm-up: JIT, model, connections.
        run(producer, responses, questions, counter, 5, 10, "warm");
        for (String rate : rateList.split(",")) {
          int perSecond = Integer.parseInt(rate.strip());
          long start = System.nanoTime();
          List<InferenceResponse> answers =
              run(producer, responses, questions, counter, perSecond, seconds, "r" + rate);
          double elapsed = (System.nanoTime() - start) / 1e9;
          List<InferenceResponse> ok =
              answers.stream().filter(r -> r.getStatus() == ResponseStatus.OK).toList();
          String line =
              String.format(
                  "| %d | %.1f | %d/%d | %.1f | %.1f | %.1f | %.1f |",
                  perSecond,
                  answers.size() / elapsed,
                  ok.size(),
                  answers.size(),
                  percentile(ok, r -> r.getTimings().getTotalMs() - r.getTimings().getLlmMs(), 50),
                  percentile(ok, r -> r.getTimings().getTotalMs() - r.getTimings().getLlmMs(), 99),
                  percentile(ok, r -> r.getTimings().getTotalMs(), 50),
                  percentile(ok, r -> r.getTimings().getLlmMs(), 50));
          System.out.println(line);
          report.append(line).append('\n');
          String stageLine =
              String.format(
                  "| %d | %s | %s | %s | %s | %s | %s |",
                  perSecond,
                  p50p99(ok, r -> r.getTimings().getQueueMs()),
                  p50p99(ok, r -> r.getTimings().getCacheMs()),
                  p50p99(ok, r -> r.getTimings().getEmbedMs()),
                  p50p99(ok, r -> r.getTimings().getRetrieveMs()),
                  p50p99(ok, r -> r.getTimings().getPromptMs()),
                  p50p99(ok, r -> r.getTimings().getTtftMs()));
          System.out.println(stageLine);
          stages.append(stageLine).append('\n');
        }
        report.append(stages);
        // Cache hits: one question asked again and again (the first answer fills the cache).
        List<InferenceResponse> repeated = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          String id = "hit-" + i;
          ObjectNode request = request(id, questions.get(0), null);
          producer.send(
              new ProducerRecord<>(
                  "requests", request.toString().getBytes(StandardCharsets.UTF_8)));
          producer.flush();
          repeated.add(
              TestStack.byId(
                      responses.until(TestStack.answered(List.of(id)), Duration.ofSeconds(60)))
                  .get(id));
          Thread.sleep(50);
        }
        List<InferenceResponse> hits =
            repeated.stream().filter(r -> r.getCacheHit() == CacheHitKind.RESPONSE).toList();
        String cache =
            String.format(
                "cache hits: %d/%d, end-to-end p50 %.2f ms, p99 %.2f ms (createdAt → emission)",
                hits.size(),
                repeated.size(),
                percentile(hits, r -> r.getTimings().getTotalMs(), 50),
                percentile(hits, r -> r.getTimings().getTotalMs(), 99));
        System.out.println(cache);
        report.append('\n').append(cache).append('\n');
      } finally {
        job.cancel().get();
      }
      Path out = Path.of("target", "inference-overhead.md");
      Files.writeString(out, report.toString());
      System.out.println("report: " + out.toAbsolutePath());
    }
  }

  /**
   * Sends {@code perSecond} requests a second for {@code seconds}, open loop; waits for answers.
   */
  private static List<InferenceResponse> run(
      KafkaProducer<byte[], byte[]> producer,
      TestStack.Reader<InferenceResponse> responses,
      List<QaPair> questions,
      int[] counter,
      int perSecond,
      int seconds,
      String tag)
      throws Exception {
    List<String> ids = new ArrayList<>();
    long intervalNanos = 1_000_000_000L / perSecond;
    long startNanos = System.nanoTime();
    long startMillis = System.currentTimeMillis();
    int total = perSecond * seconds;
    for (int i = 0; i < total; i++) {
      long due = startNanos + i * intervalNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      QaPair qa = questions.get(counter[0]++ % questions.size());
      String id = tag + "-" + i;
      ids.add(id);
      // A unique suffix makes every request miss both caches: the full path is measured.
      ObjectNode request = request(id, qa, " (" + id + ")");
      request.put("createdAt", startMillis + i * intervalNanos / 1_000_000);
      producer.send(
          new ProducerRecord<>("requests", request.toString().getBytes(StandardCharsets.UTF_8)));
    }
    producer.flush();
    Map<String, InferenceResponse> all =
        TestStack.byId(
            responses.until(TestStack.answered(ids), Duration.ofSeconds(seconds + 120L)));
    Set<String> wanted = Set.copyOf(ids);
    return all.values().stream().filter(r -> wanted.contains(r.getRequestId())).toList();
  }

  private static ObjectNode request(String id, QaPair qa, String suffix) {
    ObjectNode request = JSON.createObjectNode();
    request.put("requestId", id);
    request.put("tenantId", qa.tenantId());
    request.put("kind", "RAG");
    request
        .putArray("messages")
        .addObject()
        .put("role", "user")
        .put("content", qa.question() + (suffix == null ? "" : suffix));
    request.put("maxTokens", 32);
    request.put("temperature", 0.0);
    request.put("createdAt", System.currentTimeMillis());
    return request;
  }

  /** The benchmark's own settings followed by the ones given after the first two arguments. */
  private static String[] settings(String[] args, String... own) {
    List<String> all = new ArrayList<>(List.of(own));
    all.addAll(extra(args));
    return all.toArray(String[]::new);
  }

  private static List<String> extra(String[] args) {
    return args.length > 2 ? List.of(args).subList(2, args.length) : List.of();
  }

  private static String p50p99(
      List<InferenceResponse> responses, Function<InferenceResponse, Double> value) {
    Function<InferenceResponse, Double> orZero = r -> value.apply(r) == null ? 0.0 : value.apply(r);
    return String.format(
        "%.1f / %.1f", percentile(responses, orZero, 50), percentile(responses, orZero, 99));
  }

  private static double percentile(
      List<InferenceResponse> responses, Function<InferenceResponse, Double> value, int p) {
    if (responses.isEmpty()) {
      return Double.NaN;
    }
    List<Double> values = new ArrayList<>(responses.stream().map(value).toList());
    Collections.sort(values);
    int index = (int) Math.ceil(p / 100.0 * values.size()) - 1;
    return values.get(Math.max(0, Math.min(index, values.size() - 1)));
  }
}
