package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile records fed to the running inference job (issue 16): timestamps that overflow, fields
 * that push echoed output past Kafka's limits, control characters, identifiers with separators,
 * client-chosen indices, unbounded deadlines, duplicate ids in flight, and random mutations of
 * valid records. The job runs with no restart strategy, so a single task failure fails it; at the
 * end it must still be running, and every record must have ended as exactly one response or one
 * dead letter.
 */
@Timeout(600)
class HostileInputIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

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
  void noHostileRecordFailsATaskAndEachEndsOnce(@TempDir Path dir) throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String requests = "hostile-" + run + "-requests";
    String responses = "hostile-" + run + "-responses";
    String latency = "hostile-" + run + "-latency";
    String pieces = "hostile-" + run + "-pieces";
    String dlq = "hostile-" + run + "-dlq";
    String index = "hostile-" + run;
    TestStack.ingest(
        DemoCorpus.generate(5, 10, List.of("acme")),
        dir,
        OPENSEARCH.uri().toString(),
        KAFKA.bootstrapServers(),
        index);
    TestStack.createTopics(KAFKA.bootstrapServers(), requests, responses, latency, pieces, dlq);

    try (LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        RedisServer redis = RedisServer.start(dir);
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), responses, InferenceResponse.class);
        TestStack.Reader<DeadLetter> letters =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), dlq, DeadLetter.class)) {
      Configuration config =
          JobConfig.load(
              new String[] {
                "--kafka.bootstrap-servers", KAFKA.bootstrapServers(),
                "--inference.requests-topic", requests,
                "--inference.responses-topic", responses,
                "--inference.latency-topic", latency,
                "--inference.dead-letter-topic", dlq,
                "--pieces.topic", pieces,
                "--inference.transactional-id-prefix", "hostile-" + run,
                "--llm.endpoints", llm.baseUrl(),
                "--llm.models", MODEL,
                "--redis.url", redis.uri(),
                "--opensearch.url", OPENSEARCH.uri().toString(),
                "--retrieval.index", index
              },
              Map.of(),
              InferenceOptions.ALL);
      // Week-old requests already on the topic: a new consumer group must not replay them.
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of("bootstrap.servers", KAFKA.bootstrapServers()),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        long weekAgo = System.currentTimeMillis() - Duration.ofDays(7).toMillis();
        for (int i = 0; i < 20; i++) {
          producer.send(
              new ProducerRecord<>(
                  requests,
                  null,
                  weekAgo + i,
                  null,
                  HostileRequests.json(HostileRequests.rag("h-old-" + i))));
        }
        producer.flush();
      }
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one task failure fails the job
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.enableCheckpointing(500);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("hostile-input");

      List<byte[]> records = HostileRequests.all(new Random(16));
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of(
                  "bootstrap.servers",
                  KAFKA.bootstrapServers(),
                  "linger.ms",
                  5,
                  "max.request.size",
                  4 << 20),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        for (byte[] record : records) {
          producer.send(new ProducerRecord<>(requests, record));
        }
        producer.flush();
      }

      long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
      while (ended(answers, letters) < records.size() && System.nanoTime() < deadline) {
        assertThat(job.getJobStatus().get())
            .as("the job must not fail on any record")
            .isEqualTo(JobStatus.RUNNING);
        answers.poll(Duration.ofMillis(200));
        letters.poll(Duration.ofMillis(200));
      }
      answers.poll(Duration.ofSeconds(3)); // a duplicate would show up here
      letters.poll(Duration.ofSeconds(1));
      try {
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        assertThat(answers.seen()).as("every response decodes").doesNotContainNull();
        assertThat(answers.seen())
            .as("every response fits the limits")
            .allMatch(r -> r.getRequestId().length() <= 256 && r.getTenantId().length() <= 64);
        assertThat(ended(answers, letters))
            .as("one response or one dead letter per record, %d records", records.size())
            .isEqualTo(records.size());
        // Equal ids can come from mutations (and each copy is then REJECTED), but never two
        // answers: a duplicate in flight is a dead letter.
        assertThat(
                answers.seen().stream()
                    .filter(r -> r.getStatus() == ResponseStatus.OK)
                    .collect(
                        java.util.stream.Collectors.groupingBy(
                            InferenceResponse::getRequestId,
                            java.util.stream.Collectors.counting()))
                    .values())
            .as("no id answered twice")
            .allMatch(n -> n == 1);
        Map<String, InferenceResponse> byId = TestStack.byId(answers.seen());
        assertThat(byId.keySet()).noneMatch(id -> id.startsWith("h-old-"));
        assertThat(byId.get("h-time-0").getError().getCode()).isEqualTo("decode.invalid_field");
        assertThat(byId.get("h-time-10").getStatus())
            .as("deadline Long.MAX, brought in")
            .isEqualTo(ResponseStatus.OK);
        assertThat(byId.get("h-echo-attributes").getError().getCode())
            .isEqualTo("validation.attributes");
        assertThat(byId.get("h-echo-attributes").getAttributes()).isEmpty();
        assertThat(byId.get("h-echo-tenant2").getError().getCode())
            .isEqualTo("validation.tenant_id");
        assertThat(byId.get("h-echo-trace").getError().getCode()).isEqualTo("validation.trace_id");
        assertThat(byId.get("h-echo-index").getError().getCode()).isEqualTo("validation.index");
        assertThat(byId.keySet().stream().filter(id -> id.startsWith("h-index-")))
            .hasSize(6)
            .allMatch(id -> byId.get(id).getError().getCode().equals("validation.index"));
        assertThat(answers.seen().stream().filter(r -> r.getRequestId().equals("h-dup")))
            .as("the same id eight times: one answer")
            .hasSize(1);
        assertThat(letters.seen())
            .filteredOn(l -> l.getReasonCode().equals("validation.duplicate_request_id"))
            .as("and seven dead letters")
            .hasSize(7)
            .allMatch(l -> "h-dup".equals(l.getRequestId()));
        assertThat(letters.seen())
            .filteredOn(l -> l.getReasonCode().equals("validation.request_id"))
            .hasSize(3)
            .allMatch(l -> l.getPayload().remaining() <= 256 * 1024);
      } finally {
        job.cancel().get();
      }
    }
  }

  /**
   * Records that ended: every response, plus the dead letters that got none (a dead letter whose
   * requestId and tenant could be read also gets a REJECTED response: counted once; a duplicate
   * id's gets none).
   */
  private static int ended(
      TestStack.Reader<InferenceResponse> answers, TestStack.Reader<DeadLetter> letters) {
    long deadOnly =
        letters.seen().stream()
            .filter(
                l ->
                    l.getRequestId() == null
                        || l.getTenantId() == null
                        || l.getReasonCode().equals("validation.duplicate_request_id"))
            .count();
    return answers.seen().size() + (int) deadOnly;
  }

  /** The hostile records, by class; the ids say which class a response came from. */
  static final class HostileRequests {
    private HostileRequests() {}

    static List<byte[]> all(Random random) throws Exception {
      List<byte[]> records = new ArrayList<>();
      int n = 0;
      // Timestamps and deadlines that parse but overflow when converted.
      for (Object time :
          List.of(
              "+1000000000-01-01T00:00:00Z",
              "-1000000000-01-01T00:00:00Z",
              "9999-12-31T23:59:59Z",
              Long.MAX_VALUE,
              Long.MIN_VALUE,
              -1)) {
        records.add(json(chat("h-time-" + n++).putPOJO("createdAt", time)));
        records.add(json(chat("h-time-" + n++).putPOJO("deadline", time)));
        records.add(
            json(chat("h-time-" + n++).putPOJO("createdAt", time).putPOJO("deadline", time)));
      }
      // Fields echoed into responses, latency records and dead letters, near the 1 MiB limit.
      ObjectNode attributes = chat("h-echo-attributes");
      ObjectNode map = attributes.putObject("attributes");
      for (int i = 0; i < 900; i++) {
        map.put("k" + i, "v".repeat(1000));
      }
      records.add(json(attributes));
      records.add(json(chat("h-echo-trace").put("traceId", "t".repeat(900_000))));
      records.add(json(chat("h-echo-id-" + "i".repeat(400_000))));
      records.add(json(chat("h-echo-id2-" + "i".repeat(900_000)))); // key and value: 1.8 MB out
      records.add(json(chat("h-echo-tenant").put("tenantId", "t".repeat(400_000))));
      records.add(json(chat("h-echo-tenant2").put("tenantId", "t".repeat(900_000))));
      ObjectNode both = chat("h-echo-both").put("traceId", "t".repeat(450_000));
      both.putObject("attributes").put("a", "v".repeat(450_000));
      records.add(json(both));
      records.add(
          json(rag("h-echo-index").putPOJO("retrieval", Map.of("index", "x".repeat(500_000)))));
      // Control characters, which grow six-fold when written as JSON.
      ObjectNode control = chat("h-control");
      control.putObject("attributes").put("c", "\u0001".repeat(150_000));
      records.add(json(control));
      records.add(json(chat("h-control-id-\u0000\u001f\n")));
      records.add(json(chat("h-control-tenant").put("tenantId", "acme\u0000\n")));
      // Identifiers with separators, empty and blank.
      for (String id : List.of("a:b", "acme:doc-1:0", "a/b", "a b", "*", "..", "%00")) {
        records.add(json(chat("h-sep-" + n++).put("tenantId", id)));
        records.add(json(chat(id + "-" + n++)));
      }
      records.add(json(chat("").put("tenantId", "acme")));
      records.add(json(chat(" ").put("tenantId", " ")));
      // A client-chosen index: wildcards, comma lists, system indices.
      for (String index : List.of("*", "_all", "rag-chunks,other", ".kibana", "-x", "a*b")) {
        records.add(json(rag("h-index-" + n++).putPOJO("retrieval", Map.of("index", index))));
      }
      // Numbers at their limits.
      records.add(json(chat("h-num-" + n++).put("maxTokens", Integer.MAX_VALUE)));
      records.add(json(chat("h-num-" + n++).put("maxTokens", -1)));
      records.add(json(chat("h-num-" + n++).put("temperature", 1e308)));
      records.add(json(chat("h-num-" + n++).put("seed", Long.MIN_VALUE)));
      records.add(
          json(rag("h-num-" + n++).putPOJO("retrieval", Map.of("topK", Integer.MAX_VALUE))));
      records.add(
          ("{\"requestId\": \"h-num-"
                  + n++
                  + "\", \"tenantId\": \"acme\", \"maxTokens\": 1e999,"
                  + " \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")
              .getBytes(StandardCharsets.UTF_8));
      // Deep nesting and other malformed JSON.
      records.add(
          ("{\"requestId\": \"h-deep\", \"a\": " + "[".repeat(5_000) + "]".repeat(5_000) + "}")
              .getBytes(StandardCharsets.UTF_8));
      records.add(
          "{\"requestId\": \"h-trunc\", \"tenantId\": \"acme\"".getBytes(StandardCharsets.UTF_8));
      // The same requestId many times at once.
      for (int i = 0; i < 8; i++) {
        records.add(json(rag("h-dup")));
      }
      // Random mutations of valid records, as Avro and as JSON.
      RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);
      for (int i = 0; i < 150; i++) {
        byte[] valid =
            i % 2 == 0
                ? codec.encode(
                    RecordCodec.of(InferenceRequest.class).decode(json(rag("h-mut-" + i))).value())
                : json(rag("h-mut-" + i));
        records.add(mutate(valid, random));
      }
      return records;
    }

    private static ObjectNode chat(String id) {
      ObjectNode request = JSON.createObjectNode();
      request.put("requestId", id);
      request.put("tenantId", "acme");
      request.put("kind", "CHAT");
      request
          .putArray("messages")
          .addObject()
          .put("role", "user")
          .put("content", "Hi " + id.length());
      request.put("maxTokens", 8);
      return request;
    }

    private static ObjectNode rag(String id) {
      return chat(id).put("kind", "RAG");
    }

    private static byte[] json(ObjectNode node) throws Exception {
      return JSON.writeValueAsBytes(node);
    }

    /** A few random byte flips, insertions or deletions. */
    private static byte[] mutate(byte[] valid, Random random) {
      List<Byte> bytes = new ArrayList<>();
      for (byte b : valid) {
        bytes.add(b);
      }
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits && !bytes.isEmpty(); e++) {
        int at = random.nextInt(bytes.size());
        switch (random.nextInt(3)) {
          case 0 -> bytes.set(at, (byte) random.nextInt(256));
          case 1 -> bytes.add(at, (byte) random.nextInt(256));
          default -> bytes.remove(at);
        }
      }
      byte[] out = new byte[bytes.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = bytes.get(i);
      }
      return out;
    }
  }
}
