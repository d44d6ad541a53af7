package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.llm.PrometheusText;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.BlackholeProxy;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fault matrix on a running job, restarts turned off (one task failure fails the test): mixed
 * LLM faults on one of two endpoints (429, 500, 503 with Retry-After, stalls, dropped streams), a
 * slow first token on the other, then Redis blackholed (accepts connections, never answers) and
 * stopped, OpenSearch blackholed and stopped, and everything back. In every phase each request ends
 * with exactly one committed response, and latency stays bounded: the cache and search stages cost
 * at most their timeouts, and nothing once their breakers open.
 *
 * <p>Redis and OpenSearch are real servers behind a {@link BlackholeProxy}; "stopped" is the proxy
 * refusing connections (the server itself keeps running for the phases after).
 */
@Timeout(900)
class InferenceFaultsIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final String MODEL = "qwen2.5-0.5b-l4";
  private static final int PER_PHASE = 30;
  private static final String MIXED_LLM_FAULTS =
      "{\"rate429\": 0.03, \"rate500\": 0.02, \"rate503\": 0.02, \"retryAfterSeconds\": 1,"
          + " \"stallProbability\": 0.02, \"stallMillis\": 8000, \"dropProbability\": 0.02}";

  /** One phase's outcome, for the report line and the assertions. */
  record Phase(
      String name,
      List<InferenceResponse> responses,
      Map<String, Long> outcomes,
      double totalP50,
      double totalP99,
      double stageP99) {
    @Override
    public String toString() {
      return String.format(
          "%-22s %3d requests  %-60s total p50 %6.0f ms  p99 %6.0f ms  stage p99 %6.0f ms",
          name, responses.size(), outcomes, totalP50, totalP99, stageP99);
    }
  }

  @Test
  void everyRequestEndsOnceWhateverFailsAndLatencyStaysBounded(
      @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String index = "faults-" + run;
    DemoCorpus corpus = DemoCorpus.generate(29, 30, List.of("acme", "globex"));
    TestStack.ingest(corpus, dir, OPENSEARCH.uri().toString(), KAFKA.bootstrapServers(), index);
    String requests = "faults-" + run + "-requests";
    String responses = "faults-" + run + "-responses";
    TestStack.createTopics(
        KAFKA.bootstrapServers(),
        requests,
        responses,
        "faults-" + run + "-latency",
        "faults-" + run + "-dlq",
        "faults-" + run + "-pieces");
    URI opensearch = OPENSEARCH.uri();
    try (LlmSimServer faulty = LlmSimServer.start(dir, MODEL, MODEL, MIXED_LLM_FAULTS);
        LlmSimServer healthy = LlmSimServer.start(dir, MODEL, MODEL, null);
        RedisServer redis = RedisServer.start(Files.createDirectories(dir.resolve("redis")));
        BlackholeProxy redisProxy =
            BlackholeProxy.start(URI.create(redis.uri()).getHost(), redis.port());
        BlackholeProxy searchProxy =
            BlackholeProxy.start(opensearch.getHost(), opensearch.getPort());
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), responses, InferenceResponse.class);
        KafkaProducer<String, byte[]> producer =
            TestStack.requestProducer(KAFKA.bootstrapServers())) {
      Configuration config =
          JobConfig.load(
              new String[] {
                "--kafka.bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--inference.requests-topic",
                requests,
                "--inference.responses-topic",
                responses,
                "--inference.latency-topic",
                "faults-" + run + "-latency",
                "--pieces.topic",
                "faults-" + run + "-pieces",
                "--inference.dead-letter-topic",
                "faults-" + run + "-dlq",
                "--inference.transactional-id-prefix",
                "faults-" + run,
                "--llm.endpoints",
                faulty.baseUrl() + ";" + healthy.baseUrl(),
                "--llm.models",
                MODEL,
                "--llm.backoff-base",
                "50ms",
                "--llm.first-token-timeout",
                "3s",
                "--llm.idle-timeout",
                "2s",
                "--redis.url",
                "redis://" + redisProxy.address(),
                "--opensearch.url",
                "http://" + searchProxy.address(),
                "--retrieval.index",
                index,
                "--retrieval.timeout",
                "1s"
              },
              Map.of(),
              InferenceOptions.ALL);
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // a task failure fails the job
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.enableCheckpointing(500);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("faults-" + run);
      try {
        Load load = new Load(producer, requests, corpus.questions(), answers, job);
        load.phase("warm-up", 4, r -> 0); // the model loads; not reported

        List<Phase> phases = new ArrayList<>();
        long faultsBefore = injectedFaults(faulty);
        Phase llm = load.phase("llm mixed faults", PER_PHASE, Load::llmMs);
        long faultsMet = injectedFaults(faulty) - faultsBefore;
        System.out.println("llm mixed faults: the server injected " + faultsMet + " faults");
        phases.add(llm);
        assertThat(llm.outcomes().getOrDefault("OK", 0L))
            .as("retries on the other endpoint cure almost every LLM fault")
            .isGreaterThanOrEqualTo(PER_PHASE - 2L);
        // Every fault the server injected (its own count) cost its request an attempt. At ~11% on
        // half the traffic, a phase of 30 meets none about one time in five (seen in CI): then
        // there was nothing to retry, and the retries are checked against what was met.
        assertThat(llm.responses().stream().mapToInt(InferenceResponse::getRetries).sum())
            .as("the %d faults the server injected were retried", faultsMet)
            .isGreaterThanOrEqualTo((int) Math.min(faultsMet, 1));
        assertThat(llm.responses())
            .filteredOn(r -> r.getStatus() != ResponseStatus.OK)
            .allMatch(r -> r.getError().getCode().startsWith("llm."));

        healthy.setFaults("{\"firstTokenDelayMillis\": 6000}");
        Phase slow = load.phase("llm slow first token", PER_PHASE, Load::llmMs);
        phases.add(slow);
        healthy.setFaults("{}");
        // The other endpoint still injects the first phase's faults (~11%), so a request whose
        // first attempt times out on the slow endpoint can fail again on its retry: 28 of 30 was
        // measured, 27 seen once in CI. Waiting out the 6 s is what must not happen (the p50).
        assertThat(slow.outcomes().getOrDefault("OK", 0L))
            .as("a slow first token fails over instead of waiting")
            .isGreaterThanOrEqualTo(PER_PHASE - 5L);
        assertThat(slow.totalP50())
            .as("most answers do not wait out the 6 s first token")
            .isLessThan(5_000);

        faulty.setFaults("{}");
        redisProxy.setMode(BlackholeProxy.Mode.BLACKHOLE);
        Phase redisHung = load.phase("redis blackholed", PER_PHASE, Load::cacheMs);
        phases.add(redisHung);
        assertAllOk(redisHung);
        assertThat(redisHung.responses())
            .as("every question is asked twice, yet the hung cache answers none")
            .allMatch(r -> r.getCacheHit() == dev.streamrag.schemas.CacheHitKind.NONE);
        assertThat(redisHung.stageP99())
            .as("a hung Redis costs a lookup at most about its timeout (50 ms)")
            .isLessThan(1_000);

        redisProxy.setMode(BlackholeProxy.Mode.REFUSE);
        Phase redisDown = load.phase("redis stopped", PER_PHASE, Load::cacheMs);
        phases.add(redisDown);
        assertAllOk(redisDown);
        redisProxy.setMode(BlackholeProxy.Mode.FORWARD);

        searchProxy.setMode(BlackholeProxy.Mode.BLACKHOLE);
        Phase searchHung = load.phase("opensearch blackholed", PER_PHASE, Load::retrieveMs);
        phases.add(searchHung);
        assertDegradedNotFailed(searchHung);
        assertThat(searchHung.stageP99())
            .as("a hung search costs at most retrieval.timeout (1 s), then nothing")
            .isLessThan(2_500);

        searchProxy.setMode(BlackholeProxy.Mode.REFUSE);
        Phase searchDown = load.phase("opensearch stopped", PER_PHASE, Load::retrieveMs);
        phases.add(searchDown);
        assertDegradedNotFailed(searchDown);

        searchProxy.setMode(BlackholeProxy.Mode.FORWARD);
        Thread.sleep(6_000); // the breakers' open time (5 s): then probes close them
        Phase back = load.phase("all recovered", PER_PHASE, Load::retrieveMs);
        phases.add(back);
        assertAllOk(back);
        assertThat(back.responses().subList(PER_PHASE / 2, PER_PHASE))
            .as("once the search answers again, answers have context again")
            .allMatch(r -> r.getDegraded().isEmpty());

        System.out.println("fault matrix (in-job times from the committed responses):");
        phases.forEach(System.out::println);
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      } finally {
        job.cancel().get();
      }
    }
  }

  /** What the fault plan has injected so far, by llm-sim's own counters on its /metrics. */
  private static long injectedFaults(LlmSimServer server) throws Exception {
    String metrics =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    double total = PrometheusText.sum(metrics, "llm_sim:injected_faults_total");
    return Double.isNaN(total) ? 0 : (long) total;
  }

  private static void assertAllOk(Phase phase) {
    assertThat(phase.outcomes()).as(phase.name()).containsOnlyKeys("OK");
  }

  /**
   * RAG answers degrade (OK, marked, no citations); CHAT ones do not need the search, and a cached
   * answer is served whole, citations included.
   */
  private static void assertDegradedNotFailed(Phase phase) {
    assertThat(phase.responses()).allMatch(r -> r.getStatus() == ResponseStatus.OK);
    assertThat(phase.responses())
        .filteredOn(r -> r.getKind() == dev.streamrag.schemas.RequestKind.RAG)
        .filteredOn(r -> r.getCacheHit() == dev.streamrag.schemas.CacheHitKind.NONE)
        .isNotEmpty()
        .allMatch(r -> !r.getDegraded().isEmpty() && r.getCitations().isEmpty());
  }

  /** Sends a phase's requests at a steady pace and waits for each one's single response. */
  private static final class Load {
    private final KafkaProducer<String, byte[]> producer;
    private final String topic;
    private final List<QaPair> questions;
    private final TestStack.Reader<InferenceResponse> answers;
    private final JobClient job;
    private int next;

    Load(
        KafkaProducer<String, byte[]> producer,
        String topic,
        List<QaPair> questions,
        TestStack.Reader<InferenceResponse> answers,
        JobClient job) {
      this.producer = producer;
      this.topic = topic;
      this.questions = questions;
      this.answers = answers;
      this.job = job;
    }

    static double llmMs(InferenceResponse r) {
      return orZero(r.getTimings().getLlmMs());
    }

    static double cacheMs(InferenceResponse r) {
      return orZero(r.getTimings().getCacheMs());
    }

    static double retrieveMs(InferenceResponse r) {
      return orZero(r.getTimings().getRetrieveMs());
    }

    private static double orZero(Double value) {
      return value == null ? 0 : value;
    }

    Phase phase(
        String name, int count, java.util.function.ToDoubleFunction<InferenceResponse> stage)
        throws Exception {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int n = next++;
        String id = "f-" + name.replace(' ', '-') + "-" + n;
        // Every third request is CHAT; a RAG question is asked twice, so the cache can hit.
        QaPair qa = questions.get((n / 2) % questions.size());
        String kind = n % 3 == 2 ? "CHAT" : "RAG";
        producer.send(
            new ProducerRecord<>(
                topic,
                id,
                TestStack.request(id, qa.tenantId(), kind, qa.question(), 24)
                    .toString()
                    .getBytes(StandardCharsets.UTF_8)));
        ids.add(id);
        Thread.sleep(100);
      }
      producer.flush();
      List<InferenceResponse> seen =
          answers.until(
              s -> s.stream().map(InferenceResponse::getRequestId).toList().containsAll(ids),
              Duration.ofMinutes(3));
      answers.poll(Duration.ofSeconds(1)); // a second response to one of them would show here
      assertThat(job.getJobStatus().get()).as(name).isEqualTo(JobStatus.RUNNING);
      Map<String, InferenceResponse> byId = new HashMap<>();
      for (InferenceResponse response : answers.seen()) {
        if (ids.contains(response.getRequestId())) {
          assertThat(byId.put(response.getRequestId(), response))
              .as("one response per request: " + response.getRequestId())
              .isNull();
        }
      }
      assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(ids);
      List<InferenceResponse> phase = ids.stream().map(byId::get).toList();
      Map<String, Long> outcomes =
          new TreeMap<>(
              phase.stream()
                  .collect(
                      Collectors.groupingBy(
                          r ->
                              r.getStatus()
                                  + (r.getError() != null ? " " + r.getError().getCode() : "")
                                  + (r.getDegraded().isEmpty() ? "" : " degraded"),
                          Collectors.counting())));
      return new Phase(
          name,
          phase,
          outcomes,
          percentile(phase, r -> orZero(r.getTimings().getTotalMs()), 50),
          percentile(phase, r -> orZero(r.getTimings().getTotalMs()), 99),
          percentile(phase, stage, 99));
    }

    private static double percentile(
        List<InferenceResponse> responses,
        java.util.function.ToDoubleFunction<InferenceResponse> value,
        int percentile) {
      double[] values = responses.stream().mapToDouble(value).sorted().toArray();
      if (values.length == 0) {
        return 0;
      }
      int index = (int) Math.ceil(percentile / 100.0 * values.length) - 1;
      return values[Math.max(0, Math.min(values.length - 1, index))];
    }
  }
}
