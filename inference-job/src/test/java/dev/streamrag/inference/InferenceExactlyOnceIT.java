package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once across a crash: the job is cancelled while requests are in flight (answers already
 * written but not yet committed are aborted), then started again from its latest retained
 * checkpoint. A read_committed consumer must see every request answered exactly once.
 */
@Timeout(600)
class InferenceExactlyOnceIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "qwen2.5-0.5b-l4";

  @Test
  void aRestoreFromTheLatestCheckpointNeitherLosesNorDuplicatesResponses(@TempDir Path dir)
      throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String requests = "eo-" + run + "-requests";
    String responses = "eo-" + run + "-responses";
    String latency = "eo-" + run + "-latency";
    String dlq = "eo-" + run + "-dlq";
    TestStack.createTopics(KAFKA.bootstrapServers(), requests, responses, latency, dlq);
    Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));

    try (LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), responses, InferenceResponse.class);
        TestStack.Reader<LatencyRecord> records =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), latency, LatencyRecord.class)) {
      Configuration config =
          JobConfig.load(
              new String[] {
                "--kafka.bootstrap-servers", KAFKA.bootstrapServers(),
                "--inference.requests-topic", requests,
                "--inference.responses-topic", responses,
                "--inference.latency-topic", latency,
                "--inference.dead-letter-topic", dlq,
                "--inference.transactional-id-prefix", "eo-" + run,
                "--llm.endpoints", llm.baseUrl(),
                "--llm.models", MODEL,
                "--cache.enabled", "false"
              },
              Map.of(),
              InferenceOptions.ALL);

      List<String> ids = new ArrayList<>();
      List<String> first = batch(ids, 0, 60);
      TestStack.produce(KAFKA.bootstrapServers(), requests, first);
      JobClient job = start(config, checkpoints, null);
      answers.until(seen -> seen.size() >= 20, Duration.ofSeconds(120));
      job.cancel().get();

      List<String> second = batch(ids, 60, 120);
      TestStack.produce(KAFKA.bootstrapServers(), requests, second);
      Path latest = latestCheckpoint(checkpoints);
      JobClient restored = start(config, checkpoints, latest.toString());
      try {
        answers.until(TestStack.answered(ids), Duration.ofSeconds(180));
        answers.poll(Duration.ofSeconds(3)); // a duplicate would show up here
        assertThat(answers.seen())
            .extracting(InferenceResponse::getRequestId)
            .doesNotHaveDuplicates()
            .containsExactlyInAnyOrderElementsOf(ids);
        assertThat(answers.seen()).allMatch(r -> r.getStatus() == ResponseStatus.OK);
        records.until(seen -> seen.size() >= ids.size(), Duration.ofSeconds(60));
        records.poll(Duration.ofSeconds(1));
        assertThat(records.seen())
            .extracting(LatencyRecord::getRequestId)
            .doesNotHaveDuplicates()
            .containsExactlyInAnyOrderElementsOf(ids);
      } finally {
        restored.cancel().get();
      }
    }
  }

  private static List<String> batch(List<String> ids, int from, int to) {
    List<String> values = new ArrayList<>();
    for (int i = from; i < to; i++) {
      String id = "eo-" + i;
      ids.add(id);
      ObjectNode request = JSON.createObjectNode();
      request.put("requestId", id);
      request.put("tenantId", "acme");
      request.put("kind", "CHAT");
      request.putArray("messages").addObject().put("role", "user").put("content", "Count " + i);
      request.put("maxTokens", 64);
      request.put("temperature", 0.7);
      values.add(request.toString());
    }
    return values;
  }

  private static JobClient start(Configuration config, Path checkpoints, String restorePath)
      throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    env.enableCheckpointing(300);
    env.getCheckpointConfig().setCheckpointStorage(checkpoints.toUri().toString());
    env.getCheckpointConfig()
        .setExternalizedCheckpointCleanup(
            CheckpointConfig.ExternalizedCheckpointCleanup.RETAIN_ON_CANCELLATION);
    InferenceJob.buildOnKafka(env, config);
    StreamGraph graph = env.getStreamGraph();
    if (restorePath != null) {
      graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(restorePath, false));
    }
    return env.executeAsync(graph);
  }

  /** The newest complete checkpoint (one with its _metadata written) under {@code root}. */
  private static Path latestCheckpoint(Path root) throws Exception {
    try (Stream<Path> files = Files.walk(root)) {
      return files
          .filter(p -> p.getFileName().toString().equals("_metadata"))
          .map(Path::getParent)
          .max(
              Comparator.comparingInt(
                  p -> Integer.parseInt(p.getFileName().toString().substring(4))))
          .orElseThrow(() -> new AssertionError("no checkpoint completed under " + root));
    }
  }
}
