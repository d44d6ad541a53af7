package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pools on the running job, restarts off: a GPU pool whose only server is down (a port nobody
 * listens on) listed first, a CPU pool of llm-sim's llama.cpp profile taking short prompts, and a
 * GPU pool of llm-sim's L4 profile taking the rest. Short prompts, sent one at a time, end on the
 * CPU pool, long ones on the GPU, the dead pool's failures fail over, an unknown model is REJECTED
 * with the models available, and every response and latency record names its pool.
 */
@Timeout(600)
class LlmPoolsIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(1)
              .build());

  private static final String MODEL = "llama-3.2-1b";
  private static final int SHORT = 6;
  private static final int LONG = 4;

  @Test
  void requestsGoToThePoolThatFitsThemAndADeadPoolFailsOver(@TempDir Path dir) throws Exception {
    String run = "pools-" + UUID.randomUUID().toString().substring(0, 8);
    TestStack.createTopics(
        KAFKA.bootstrapServers(),
        run + "-requests",
        run + "-responses",
        run + "-latency",
        run + "-dlq",
        run + "-pieces");
    String nobody;
    try (ServerSocket socket = new ServerSocket(0)) {
      nobody = "http://127.0.0.1:" + socket.getLocalPort();
    }
    try (LlmSimServer cpu = LlmSimServer.start(dir, "llama-3.2-1b-cpu", MODEL, null);
        LlmSimServer gpu = LlmSimServer.start(dir, "qwen2.5-0.5b-l4", MODEL, null);
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(
                KAFKA.bootstrapServers(), run + "-responses", InferenceResponse.class);
        TestStack.Reader<LatencyRecord> latency =
            new TestStack.Reader<>(
                KAFKA.bootstrapServers(), run + "-latency", LatencyRecord.class);
        KafkaProducer<String, byte[]> producer =
            TestStack.requestProducer(KAFKA.bootstrapServers())) {
      Path pools = dir.resolve("pools.yaml");
      Files.writeString(
          pools,
          """
          pools:
            - name: dead
              hardware: gpu
              instance: {cloud: aws, type: g6.xlarge}
              models: [%s]
              endpoints: [%s]
            - name: cpu
              hardware: cpu
              instance: {cloud: aws, type: c7i.2xlarge}
              models: [%s]
              endpoints: [%s]
              contextWindow: 2048
              maxConcurrency: 4
              maxPromptTokens: 300
              kinds: [CHAT, RAG]
            - name: gpu
              hardware: gpu
              instance: {cloud: aws, type: g6.xlarge}
              models: [%s, qwen2.5-0.5b]
              endpoints: [%s]
          """
              .formatted(MODEL, nobody, MODEL, cpu.baseUrl(), MODEL, gpu.baseUrl()));
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
                "--llm.pools-file",
                pools.toString(),
                "--llm.backoff-base",
                "20ms",
                "--cache.enabled",
                "false",
                "--opensearch.url",
                OPENSEARCH.uri().toString(),
                "--retrieval.index",
                run
              },
              Map.of(),
              InferenceOptions.ALL);
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // a task failure fails the test
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.enableCheckpointing(500);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync(run);
      try {
        List<String> shortIds = new ArrayList<>();
        List<String> longIds = new ArrayList<>();
        String longPrompt = "Summarise this report. " + "The river rises in the hills. ".repeat(80);
        // Short prompts one at a time, each answered before the next: the CPU pool always has
        // room, so each is its (its overflow to the GPU is PooledChatCallerTest's, timing-free).
        for (int i = 0; i < SHORT; i++) {
          String id = run + "-short-" + i;
          shortIds.add(id);
          TestStack.send(
              producer, run + "-requests", TestStack.request(id, "acme", "CHAT", "Hello " + i, 16));
          answers.until(TestStack.answered(List.of(id)), Duration.ofMinutes(1));
        }
        for (int i = 0; i < LONG; i++) {
          String id = run + "-long-" + i;
          longIds.add(id);
          TestStack.send(
              producer, run + "-requests", TestStack.request(id, "acme", "CHAT", longPrompt, 16));
        }
        ObjectNode unknown = TestStack.request(run + "-unknown", "acme", "CHAT", "Hi", 8);
        unknown.put("model", "gpt-5");
        TestStack.send(producer, run + "-requests", unknown);
        List<String> all = new ArrayList<>(shortIds);
        all.addAll(longIds);
        all.add(run + "-unknown");

        Map<String, InferenceResponse> byId =
            TestStack.byId(answers.until(TestStack.answered(all), Duration.ofMinutes(3)));
        latency.until(records -> records.size() >= all.size(), Duration.ofMinutes(1));
        Map<String, Long> pools0 =
            new TreeMap<>(
                byId.values().stream()
                    .collect(
                        Collectors.groupingBy(
                            r -> String.valueOf(r.getLlmPool()), Collectors.counting())));
        System.out.println("pools: responses by pool " + pools0);

        InferenceResponse rejected = byId.get(run + "-unknown");
        assertThat(rejected.getStatus()).isEqualTo(ResponseStatus.REJECTED);
        assertThat(rejected.getError().getCode()).isEqualTo("validation.unknown_model");
        assertThat(rejected.getError().getMessage()).contains(MODEL).contains("qwen2.5-0.5b");

        for (String id : longIds) {
          assertThat(byId.get(id).getStatus()).as(id).isEqualTo(ResponseStatus.OK);
          assertThat(byId.get(id).getLlmPool()).as("a long prompt skips the CPU").isEqualTo("gpu");
        }
        for (String id : shortIds) {
          InferenceResponse response = byId.get(id);
          assertThat(response.getStatus()).as(id).isEqualTo(ResponseStatus.OK);
          assertThat(response.getLlmPool()).as("a short prompt is the CPU pool's").isEqualTo("cpu");
          assertThat(response.getLlmEndpoint()).isNotEqualTo(nobody);
        }
        assertThat(byId.get(all.get(0)).getRetries())
            .as("the first request met the dead pool, then failed over")
            .isPositive();
        assertThat(byId.values()).noneMatch(r -> "dead".equals(r.getLlmPool()));
        Map<String, LatencyRecord> records =
            latency.seen().stream()
                .collect(Collectors.toMap(LatencyRecord::getRequestId, r -> r, (a, b) -> a));
        for (String id : all) {
          assertThat(records.get(id).getLlmPool()).as(id).isEqualTo(byId.get(id).getLlmPool());
        }
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      } finally {
        job.cancel().get();
      }
    }
  }
}
