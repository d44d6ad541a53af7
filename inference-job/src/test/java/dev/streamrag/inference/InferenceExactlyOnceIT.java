package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * checkpoint. A read_committed consumer must see every request answered exactly once; a reader of
 * the pieces topic sees every answer stream to its end at least once, replays included, and
 * reassembles exactly the committed answer (llm-sim answers equal requests equally, as a model at
 * temperature 0 or with a seed would).
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
    String pieces = "eo-" + run + "-pieces";
    TestStack.createTopics(KAFKA.bootstrapServers(), requests, responses, latency, dlq, pieces);
    Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));

    try (LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), responses, InferenceResponse.class);
        TestStack.Reader<LatencyRecord> records =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), latency, LatencyRecord.class);
        TestStack.PieceReader streamed =
            new TestStack.PieceReader(KAFKA.bootstrapServers(), pieces)) {
      Configuration config =
          JobConfig.load(
              new String[] {
                "--kafka.bootstrap-servers", KAFKA.bootstrapServers(),
                "--inference.requests-topic", requests,
                "--inference.responses-topic", responses,
                "--inference.latency-topic", latency,
                "--inference.dead-letter-topic", dlq,
                "--pieces.topic", pieces,
                "--inference.transactional-id-prefix", "eo-" + run,
                "--llm.endpoints", llm.baseUrl(),
                "--llm.models", MODEL,
                "--cache.enabled", "false"
              },
              Map.of(),
              InferenceOptions.ALL);

      List<String> ids = new ArrayList<>();
      TestStack.produce(KAFKA.bootstrapServers(), requests, batch(ids, 0, 20));
      JobClient job = start(config, checkpoints, null);
      answers.until(seen -> seen.size() >= 20, Duration.ofSeconds(120));
      // Then requests that stall halfway through their answers: they are mid-stream, their
      // first tokens already published, when a checkpoint holds them and the job dies.
      llm.setFaults("{\"stallProbability\": 1.0, \"stallMillis\": 8000}");
      List<String> stalled = batch(ids, 20, 60);
      TestStack.produce(KAFKA.bootstrapServers(), requests, stalled);
      List<String> stalledIds = List.copyOf(ids.subList(20, 60));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (stalledIds.stream()
              .filter(id -> streamed.answer(id) != null && !streamed.answer(id).text().isEmpty())
              .count()
          < 10) {
        assertThat(System.nanoTime()).as("stalled answers began to stream").isLessThan(deadline);
        streamed.poll(Duration.ofMillis(100));
      }
      awaitCheckpoints(checkpoints, 2);
      job.cancel().get();
      llm.setFaults("{}");

      List<String> second = batch(ids, 60, 100);
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

        Map<String, StreamedAnswer> all = streamed.finished(ids, Duration.ofSeconds(60));
        streamed.poll(Duration.ofSeconds(1));
        int replays = 0;
        for (InferenceResponse response : answers.seen()) {
          StreamedAnswer answer = all.get(response.getRequestId());
          assertThat(answer.diverged()).as(response.getRequestId()).isFalse();
          assertThat(answer.text()).as(response.getRequestId()).isEqualTo(response.getText());
          replays += answer.restarts() + answer.late() + answer.duplicates();
        }
        assertThat(replays)
            .as("answers in flight at the crash were streamed again after the restore")
            .isPositive();
        assertThat(stalledIds.stream().mapToInt(id -> all.get(id).restarts()).sum())
            .as("mid-stream answers continued in a newer generation, seamlessly")
            .isPositive();
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
      // Greedy, as the seamless replay below assumes (llm-sim would repeat itself anyway).
      request.put("temperature", 0.0);
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

  /** Waits until {@code count} more checkpoints than now have completed under {@code root}. */
  private static void awaitCheckpoints(Path root, int count) throws Exception {
    int from = checkpointNumber(root);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (checkpointNumber(root) < from + count) {
      assertThat(System.nanoTime()).as("checkpoints complete").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  /** The number of the newest complete checkpoint; Flink deletes older ones as it goes. */
  private static int checkpointNumber(Path root) throws Exception {
    int newest = 0;
    try (Stream<Path> jobs = Files.list(root)) {
      for (Path job : jobs.toList()) {
        List<Path> checkpoints;
        try (Stream<Path> listed = Files.list(job)) {
          checkpoints = listed.toList();
        } catch (NoSuchFileException | UncheckedIOException e) {
          continue; // removed while we looked
        }
        for (Path checkpoint : checkpoints) {
          String name = checkpoint.getFileName().toString();
          if (name.startsWith("chk-") && Files.exists(checkpoint.resolve("_metadata"))) {
            newest = Math.max(newest, Integer.parseInt(name.substring(4)));
          }
        }
      }
    }
    return newest;
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
