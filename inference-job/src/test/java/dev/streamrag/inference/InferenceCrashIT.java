package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.KafkaServer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
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
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Crashes under load, not graceful cancels: RAG (with cache hits) and CHAT requests at parallelism
 * 2 on two TaskManagers, while one TaskManager is terminated mid-run, and, in the other test, while
 * the Kafka broker is stopped and started again. Flink restarts the job from its latest checkpoint;
 * a read_committed reader must then see every request answered exactly once, and must not be left
 * blocked behind a transaction the crashed TaskManager left open.
 *
 * <p>The TaskManager is terminated through the MiniCluster, which stops its services at once: its
 * tasks fail, their Kafka transactions stay open and the in-flight LLM calls are abandoned, as when
 * a pod is killed. The broker is a real one stopped by PID (SIGTERM) and restarted on its data.
 */
@Timeout(900)
class InferenceCrashIT {
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  private static final String MODEL = "qwen2.5-0.5b-l4";
  private static final int REQUESTS = 240;
  private static final int FAULT_AT = 80;
  private static final long GAP_MILLIS = 50; // 20 requests a second

  private static Path dir;
  private static KafkaServer kafka;
  private static LlmSimServer llm;
  private static RedisServer redis;
  private static MiniCluster flink;
  private static DemoCorpus corpus;
  private static String index;

  @BeforeAll
  static void startEverything() throws Exception {
    dir = Files.createTempDirectory("crash-it");
    kafka = KafkaServer.start(dir); // its own broker: one test restarts it
    corpus = DemoCorpus.generate(23, 30, List.of("acme", "globex"));
    index = "crash-" + UUID.randomUUID().toString().substring(0, 8);
    TestStack.ingest(corpus, dir, OPENSEARCH.uri().toString(), kafka.bootstrapServers(), index);
    llm = LlmSimServer.start(dir, MODEL, MODEL, null);
    redis = RedisServer.start(dir);
    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 100);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
    flink =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                // One slot each: the job at parallelism 2 runs on both, so the killed one matters.
                .setNumTaskManagers(2)
                .setNumSlotsPerTaskManager(1)
                .build());
    flink.start();
  }

  @AfterAll
  static void stopEverything() throws Exception {
    for (AutoCloseable closeable : new AutoCloseable[] {flink, llm, redis, kafka}) {
      if (closeable != null) {
        closeable.close();
      }
    }
  }

  @Test
  void aTaskManagerKilledMidRunLosesAndDuplicatesNoAnswer() throws Exception {
    JobID job =
        runThrough(
            "tm",
            () -> {
              flink.terminateTaskManager(0).get();
              flink.startTaskManager(); // as Kubernetes would replace the pod
            });
    assertThat(flink.getExecutionGraph(job).get().getStatusTimestamp(JobStatus.RESTARTING))
        .as("the job failed over")
        .isPositive();
  }

  @Test
  void aBrokerRestartMidRunLosesAndDuplicatesNoAnswer() throws Exception {
    runThrough("broker", () -> kafka.restart(Duration.ofSeconds(5)));
  }

  /** A fault to inject while requests flow. */
  @FunctionalInterface
  interface Fault {
    void inject() throws Exception;
  }

  private JobID runThrough(String name, Fault fault) throws Exception {
    String run = name + "-" + UUID.randomUUID().toString().substring(0, 8);
    String requests = run + "-requests";
    String responses = run + "-responses";
    TestStack.createTopics(
        kafka.bootstrapServers(),
        requests,
        responses,
        run + "-latency",
        run + "-dlq",
        run + "-pieces");
    Configuration config =
        JobConfig.load(
            new String[] {
              "--kafka.bootstrap-servers",
              kafka.bootstrapServers(),
              "--inference.requests-topic",
              requests,
              "--inference.responses-topic",
              responses,
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
              "--inference.checkpoint-timeout",
              "20s",
              "--llm.endpoints",
              llm.baseUrl(),
              "--llm.models",
              MODEL,
              "--llm.backoff-base",
              "50ms",
              "--redis.url",
              redis.uri(),
              "--opensearch.url",
              OPENSEARCH.uri().toString(),
              "--retrieval.index",
              index
            },
            Map.of(),
            InferenceOptions.ALL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    InferenceJob.configureCheckpoints(env, config);
    InferenceJob.buildOnKafka(env, config);
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName("crash-" + run);
    JobGraph jobGraph = graph.getJobGraph();
    flink.submitJob(jobGraph).get();
    JobID job = jobGraph.getJobID();

    try (TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(kafka.bootstrapServers(), responses, InferenceResponse.class);
        TestStack.PieceReader streamed =
            new TestStack.PieceReader(kafka.bootstrapServers(), run + "-pieces")) {
      TestStack.awaitRunning(flink, job);
      // Warm: the fault is meant to land mid-run, not while the job loads its model.
      List<String> warm = new ArrayList<>();
      produce(requests, run + "-warm", warm, new AtomicInteger(), 2);
      try {
        answers.until(s -> warm.stream().allMatch(id -> contains(s, id)), Duration.ofMinutes(2));
      } catch (AssertionError notWarm) {
        var execution = flink.getExecutionGraph(job).get();
        throw new AssertionError(
            "warm-up: "
                + notWarm.getMessage()
                + "; job "
                + execution.getState()
                + ", tasks "
                + TestStack.taskStates(flink, job)
                + ", last failure "
                + (execution.getFailureInfo() == null
                    ? "none"
                    : execution.getFailureInfo().getExceptionAsString()),
            notWarm);
      }
      List<String> ids = new ArrayList<>();
      AtomicInteger sent = new AtomicInteger();
      CompletableFuture<Void> load =
          CompletableFuture.runAsync(() -> produce(requests, run, ids, sent, REQUESTS));
      while (sent.get() < FAULT_AT && !load.isDone()) {
        Thread.sleep(20);
      }
      answers.poll(Duration.ofMillis(100));
      int answeredBeforeFault = answers.seen().size() - warm.size();
      fault.inject();
      load.get();

      List<InferenceResponse> seen;
      try {
        seen =
            answers.until(s -> ids.stream().allMatch(id -> contains(s, id)), Duration.ofMinutes(4));
      } catch (AssertionError timedOut) {
        List<String> missing = ids.stream().filter(id -> !contains(answers.seen(), id)).toList();
        throw new AssertionError(
            timedOut.getMessage() + "; missing " + missing + "; " + uncommitted(responses, missing),
            timedOut);
      }
      answers.poll(Duration.ofSeconds(3)); // a duplicate committed late would show up here
      Map<String, Long> perId =
          answers.seen().stream()
              .collect(
                  Collectors.groupingBy(InferenceResponse::getRequestId, Collectors.counting()));
      Map<ResponseStatus, Long> statuses =
          new TreeMap<>(
              answers.seen().stream()
                  .filter(r -> ids.contains(r.getRequestId()))
                  .collect(
                      Collectors.groupingBy(InferenceResponse::getStatus, Collectors.counting())));
      Map<String, Long> errors =
          new TreeMap<>(
              answers.seen().stream()
                  .filter(r -> r.getError() != null)
                  .collect(
                      Collectors.groupingBy(r -> r.getError().getCode(), Collectors.counting())));
      System.out.printf(
          "%s: %d requests, %d answered before the fault, statuses %s, errors %s%n",
          name, ids.size(), answeredBeforeFault, statuses, errors);

      assertThat(ids).hasSize(REQUESTS);
      assertThat(perId.keySet()).as("no answer lost").containsAll(ids);
      assertThat(perId)
          .as("no answer committed twice")
          .allSatisfy((id, n) -> assertThat(n).isOne());
      assertThat(statuses.keySet())
          .as("crashes delay answers; they do not fail them")
          .isSubsetOf(ResponseStatus.OK, ResponseStatus.TIMEOUT);
      assertThat(statuses.getOrDefault(ResponseStatus.OK, 0L))
          .as("most requests outlive the recovery")
          .isGreaterThan(REQUESTS * 3L / 4);
      assertNoReaderBlocked(responses);
      // What a streaming client saw ends as the committed answer did: the crashed task's
      // cancelled calls streamed no ERROR END of their own.
      Map<String, InferenceResponse> committed = TestStack.byId(answers.seen());
      streamed
          .finished(ids, Duration.ofSeconds(60))
          .forEach(
              (id, answer) ->
                  assertThat(answer.end().getStatus())
                      .as("streamed end of %s", id)
                      .isEqualTo(committed.get(id).getStatus()));
      assertThat(flink.getJobStatus(job).get()).isEqualTo(JobStatus.RUNNING);
    } finally {
      cancelAndAwaitEnd(job);
    }
    return job;
  }

  /**
   * Cancels the job and waits until it has ended, so the next test's job gets both slots: a cancel
   * is acknowledged before the tasks have left, and a task slow to cancel would otherwise hold its
   * slot while the next job waits for it (once seen in CI as a warm-up answered by nothing). Should
   * the tasks not leave in time, their threads are printed, for whoever reads the CI log.
   */
  private static void cancelAndAwaitEnd(JobID job) throws Exception {
    long started = System.nanoTime();
    flink.cancelJob(job).get();
    long deadline = started + Duration.ofSeconds(90).toNanos();
    while (!flink.getJobStatus(job).get().isGloballyTerminalState()) {
      if (System.nanoTime() > deadline) {
        printThreads();
        throw new AssertionError(
            "the job was not cancelled in 90 s: " + flink.getJobStatus(job).get());
      }
      Thread.sleep(100);
    }
    System.out.printf(
        "job %s cancelled in %d ms%n", job, (System.nanoTime() - started) / 1_000_000);
  }

  private static void printThreads() {
    Thread.getAllStackTraces()
        .forEach(
            (thread, stack) -> {
              System.out.println("thread " + thread.getName() + " " + thread.getState());
              for (StackTraceElement frame : stack) {
                System.out.println("    at " + frame);
              }
            });
  }

  /** What a read_uncommitted reader sees of {@code ids}: answers written but never committed. */
  private static String uncommitted(String topic, List<String> ids) {
    List<String> found = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        TestStack.fromEarliest(kafka.bootstrapServers(), topic, "read_uncommitted")) {
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          String key =
              record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
          if (ids.contains(key)) {
            found.add(key + "@" + record.partition() + ":" + record.offset());
          }
        }
      }
    }
    return "uncommitted copies: " + found;
  }

  private static boolean contains(List<InferenceResponse> seen, String id) {
    for (InferenceResponse response : seen) {
      if (response.getRequestId().equals(id)) {
        return true;
      }
    }
    return false;
  }

  /**
   * RAG questions of the corpus (every third one asked again, so it is a cache hit) and CHAT
   * requests, keyed by requestId, at a steady rate. Deliveries wait out a broker restart.
   */
  private static void produce(
      String topic, String run, List<String> ids, AtomicInteger sent, int count) {
    List<QaPair> questions = corpus.questions();
    try (KafkaProducer<String, byte[]> producer =
        TestStack.requestProducer(kafka.bootstrapServers())) {
      for (int i = 0; i < count; i++) {
        String id = run + "-" + i;
        QaPair qa = questions.get((i % 3 == 2 ? i - 2 : i) % questions.size());
        ObjectNode request =
            TestStack.request(id, qa.tenantId(), i % 4 == 3 ? "CHAT" : "RAG", qa.question(), 32);
        synchronized (ids) {
          ids.add(id);
        }
        producer.send(
            new ProducerRecord<>(topic, id, request.toString().getBytes(StandardCharsets.UTF_8)));
        sent.incrementAndGet();
        Thread.sleep(GAP_MILLIS);
      }
      producer.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * A read_committed reader can read to the end of the topic: no transaction left open by the crash
   * holds the last stable offset back (it would until the transaction timeout, 15 min).
   */
  private static void assertNoReaderBlocked(String topic) throws Exception {
    Function<String, KafkaConsumer<byte[], byte[]>> consumer =
        isolation ->
            new KafkaConsumer<>(
                Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    kafka.bootstrapServers(),
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                    isolation),
                new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
    try (KafkaConsumer<byte[], byte[]> committed = consumer.apply("read_committed");
        KafkaConsumer<byte[], byte[]> uncommitted = consumer.apply("read_uncommitted")) {
      List<TopicPartition> partitions =
          committed.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      Map<TopicPartition, Long> stable = committed.endOffsets(partitions);
      Map<TopicPartition, Long> high = uncommitted.endOffsets(partitions);
      while (!stable.equals(high) && System.nanoTime() < deadline) {
        Thread.sleep(500);
        stable = committed.endOffsets(partitions);
        high = uncommitted.endOffsets(partitions);
      }
      assertThat(stable).as("last stable offsets reach the high watermarks").isEqualTo(high);
    }
  }
}
