package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.inference.quota.EnforceQuotas;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import dev.streamrag.testsupport.junit.RedisExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tenant quotas on the running job (two tasks) against real Kafka, OpenSearch, Redis and llm-sim: a
 * noisy tenant floods the requests topic while a quiet one asks RAG questions at a normal pace. The
 * flood is turned away with {@code quota.exceeded} (and admitted no faster than its quota), every
 * quiet request is answered OK, every request gets exactly one response, the noisy tenant is served
 * again once its requests have been answered (its concurrency slots were freed), and no task
 * restarts.
 */
@Timeout(900)
class QuotaIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();
  @RegisterExtension static final RedisExtension REDIS = new RedisExtension();

  private static final String MODEL = "qwen2.5-0.5b-l4";
  private static final int PARALLELISM = 2;
  private static final String QUIET = "acme";
  private static final String NOISY = "globex";

  /** The noisy tenant's quota: 4 requests/s, a burst of 4, 2 in flight (per task: 2/s, 2, 1). */
  private static final double NOISY_RATE = 4;

  private static final int NOISY_BURST = 4;
  private static final int FLOOD = 150;
  private static final Duration WAIT = Duration.ofMinutes(3);

  @Test
  void aFloodingTenantIsTurnedAwayWhileAQuietTenantIsServed() throws Exception {
    Path dir = Files.createTempDirectory("quota-it");
    String run = "quota-" + UUID.randomUUID().toString().substring(0, 8);
    DemoCorpus corpus = DemoCorpus.generate(23, 40, List.of(QUIET, NOISY));
    String index = run + "-chunks";
    TestStack.ingest(corpus, dir, OPENSEARCH.uri().toString(), KAFKA.bootstrapServers(), index);
    String requests = run + "-requests";
    TestStack.createTopics(
        KAFKA.bootstrapServers(),
        requests,
        run + "-responses",
        run + "-latency",
        run + "-pieces",
        run + "-dlq");
    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
    try (LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        MiniCluster flink =
            new MiniCluster(
                new MiniClusterConfiguration.Builder()
                    .setConfiguration(conf)
                    .setNumTaskManagers(1)
                    .setNumSlotsPerTaskManager(PARALLELISM)
                    .build())) {
      flink.start();
      JobID job = submit(flink, run, index, llm.baseUrl());
      try (TestStack.Reader<InferenceResponse> answers =
              new TestStack.Reader<>(
                  KAFKA.bootstrapServers(), run + "-responses", InferenceResponse.class);
          TestStack.Reader<LatencyRecord> latency =
              new TestStack.Reader<>(
                  KAFKA.bootstrapServers(), run + "-latency", LatencyRecord.class);
          KafkaProducer<String, byte[]> producer =
              TestStack.requestProducer(KAFKA.bootstrapServers())) {
        TestStack.awaitRunning(flink, job);
        List<QaPair> questions =
            corpus.questions().stream().filter(q -> q.tenantId().equals(QUIET)).toList();
        // Warm up both tasks (models, connections) with quiet requests, so the flood meets a job
        // that answers at its normal pace.
        List<String> warmup = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          String id = run + "-warm-" + i;
          warmup.add(id);
          TestStack.send(producer, requests, rag(id, questions.get(i % questions.size())));
        }
        answers.until(TestStack.answered(warmup), WAIT);

        // The flood: 150 noisy requests at ~50/s, with a quiet RAG question every 10th.
        List<String> noisy = new ArrayList<>();
        List<String> quiet = new ArrayList<>();
        long floodStart = System.nanoTime();
        for (int i = 0; i < FLOOD; i++) {
          String id = run + "-noisy-" + i;
          noisy.add(id);
          // Not waiting for each send, so the flood's pace does not depend on the broker's.
          sendAsync(
              producer,
              requests,
              TestStack.request(id, NOISY, "CHAT", "Say hello number " + i + ".", 32));
          if (i % 10 == 0) {
            String quietId = run + "-quiet-" + i;
            quiet.add(quietId);
            sendAsync(
                producer, requests, rag(quietId, questions.get((4 + i / 10) % questions.size())));
          }
          Thread.sleep(20);
        }
        producer.flush();
        double floodSeconds = (System.nanoTime() - floodStart) / 1e9;
        List<String> all = new ArrayList<>(warmup);
        all.addAll(noisy);
        all.addAll(quiet);
        answers.until(TestStack.answered(all), WAIT);

        Map<String, InferenceResponse> byId = TestStack.byId(answers.seen());
        for (String id : quiet) {
          assertThat(byId.get(id).getStatus())
              .as("quiet %s: %s", id, byId.get(id).getError())
              .isEqualTo(ResponseStatus.OK);
        }
        List<InferenceResponse> flood = noisy.stream().map(byId::get).toList();
        List<InferenceResponse> rejected =
            flood.stream().filter(r -> r.getStatus() == ResponseStatus.REJECTED).toList();
        long ok = flood.stream().filter(r -> r.getStatus() == ResponseStatus.OK).count();
        assertThat(ok + rejected.size())
            .as("the flood's requests are either answered or rejected for the quota")
            .isEqualTo(FLOOD);
        // Each task holds a bucket of 2 and gets 2 tokens a second: over the job at most the burst
        // plus the rate for the flood's duration (and a second's slack for its last answers).
        assertThat(ok)
            .as("admitted of the flood in %.1f s", floodSeconds)
            .isPositive()
            .isLessThanOrEqualTo((long) (NOISY_BURST + NOISY_RATE * (floodSeconds + 1)));
        System.out.printf(
            "QuotaIT: flood of %d in %.1f s: %d admitted, %d rejected (%d for concurrency)%n",
            FLOOD,
            floodSeconds,
            ok,
            rejected.size(),
            rejected.stream()
                .filter(r -> r.getError().getMessage().contains("concurrency"))
                .count());
        assertThat(rejected).hasSizeGreaterThanOrEqualTo(FLOOD / 2);
        for (InferenceResponse r : rejected) {
          assertThat(r.getError().getCode()).isEqualTo(EnforceQuotas.CODE);
          assertThat(r.getError().getRetryable()).isTrue();
          assertThat(r.getError().getMessage())
              .isIn(
                  "over this tenant's rate quota of 4 requests/s (burst 4): retry later",
                  "over this tenant's concurrency quota of 2 requests in flight: retry once one"
                      + " of them has been answered")
              .doesNotContain(QUIET);
          assertThat(r.getTimings().getLlmMs()).as("rejected before the LLM").isNull();
          assertThat(r.getTimings().getCacheMs()).as("and before the cache").isNull();
        }
        assertThat(rejected)
            .as("a slot per task, requests 20 ms apart: some meet a full slot")
            .anyMatch(r -> r.getError().getMessage().contains("concurrency"));

        // Once its requests are answered, the noisy tenant is served again: slots were freed.
        Thread.sleep(1_500); // the buckets refill
        List<String> later = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          String id = run + "-later-" + i;
          later.add(id);
          TestStack.send(
              producer, requests, TestStack.request(id, NOISY, "CHAT", "Say bye " + i + ".", 16));
          answers.until(TestStack.answered(List.of(id)), WAIT);
          Thread.sleep(600);
        }
        all.addAll(later);
        byId = TestStack.byId(answers.until(TestStack.answered(all), WAIT));
        for (String id : later) {
          assertThat(byId.get(id).getStatus())
              .as("%s: %s", id, byId.get(id).getError())
              .isEqualTo(ResponseStatus.OK);
        }

        // Exactly one response per request, nothing else.
        answers.poll(Duration.ofSeconds(3));
        Map<String, Long> counts =
            answers.seen().stream()
                .collect(
                    Collectors.groupingBy(InferenceResponse::getRequestId, Collectors.counting()));
        assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(all);
        assertThat(counts.values()).allMatch(n -> n == 1);

        // The latency records carry the status and the code, per tenant, as the report reads them.
        List<LatencyRecord> records =
            latency.until(seen -> seen.size() >= all.size(), WAIT).stream()
                .collect(
                    Collectors.toMap(LatencyRecord::getRequestId, Function.identity(), (a, b) -> a))
                .values()
                .stream()
                .toList();
        assertThat(
                records.stream()
                    .filter(r -> EnforceQuotas.CODE.equals(r.getErrorCode()))
                    .collect(
                        Collectors.groupingBy(LatencyRecord::getTenantId, Collectors.counting())))
            .isEqualTo(Map.of(NOISY, (long) rejected.size()));

        assertThat(flink.getJobStatus(job).get()).isEqualTo(JobStatus.RUNNING);
        assertThat(flink.getExecutionGraph(job).get().getStatusTimestamp(JobStatus.RESTARTING))
            .as("no task restarted")
            .isZero();
      } finally {
        flink.cancelJob(job).get();
      }
    }
  }

  private static void sendAsync(
      KafkaProducer<String, byte[]> producer, String topic, ObjectNode request) {
    producer.send(
        new ProducerRecord<>(
            topic,
            request.get("requestId").asText(),
            request.toString().getBytes(StandardCharsets.UTF_8)));
  }

  private static ObjectNode rag(String id, QaPair question) {
    return TestStack.request(id, question.tenantId(), "RAG", question.question(), 48);
  }

  private static JobID submit(MiniCluster flink, String run, String index, String llm)
      throws Exception {
    Configuration config =
        JobConfig.load(
            new String[] {
              "--kafka.bootstrap-servers",
              KAFKA.bootstrapServers(),
              "--inference.requests-topic",
              run + "-requests",
              "--inference.responses-topic",
              run + "-responses",
              "--inference.latency-topic",
              run + "-latency",
              "--pieces.topic",
              run + "-pieces",
              "--inference.dead-letter-topic",
              run + "-dlq",
              "--inference.transactional-id-prefix",
              run,
              "--inference.consumer-group",
              run,
              "--inference.checkpoint-interval",
              "1s",
              "--inference.default-timeout",
              "60s",
              "--llm.endpoints",
              llm,
              "--llm.models",
              MODEL,
              "--redis.url",
              REDIS.uri(),
              "--opensearch.url",
              OPENSEARCH.uri().toString(),
              "--retrieval.index",
              index,
              // Everyone: 20/s, 16 in flight (per task 10/s, 8); the noisy tenant far less.
              "--quota.requests-per-second",
              "20",
              "--quota.max-concurrent",
              "16",
              "--quota.tenants",
              NOISY + "=" + (int) NOISY_RATE + ":" + NOISY_BURST + ":2;guest=1:2:1"
            },
            Map.of(),
            InferenceOptions.ALL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(PARALLELISM);
    InferenceJob.configureCheckpoints(env, config);
    InferenceJob.buildOnKafka(env, config);
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName(run);
    JobGraph jobGraph = graph.getJobGraph();
    flink.submitJob(jobGraph).get();
    return jobGraph.getJobID();
  }
}
