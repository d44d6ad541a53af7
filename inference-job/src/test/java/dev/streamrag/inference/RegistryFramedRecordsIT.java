package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.Encoding;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.registry.SchemaRegistryClient;
import dev.streamrag.testsupport.BlackholeProxy;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import dev.streamrag.testsupport.SchemaRegistryServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference job in a Kafka estate with a schema registry (issue 17): requests framed by the
 * registry (Confluent wire format: magic 0, schema id, Avro), as Confluent, Apicurio, Karapace and
 * Redpanda producers write them, are answered; responses are written in the same framing under a
 * schema the job registered itself. Framed records the registry cannot resolve are dead letters
 * with a reason, and the job, run without restarts, never fails. The registry is a real one
 * (Apicurio Registry, Confluent-compatible API).
 */
@Timeout(600)
class RegistryFramedRecordsIT {
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
  private static final int FRAMED = 12;

  @Test
  void registryFramedRequestsAreAnsweredInRegistryFraming(@TempDir Path dir) throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String requests = "registry-" + run + "-requests";
    String responses = "registry-" + run + "-responses";
    String latency = "registry-" + run + "-latency";
    String pieces = "registry-" + run + "-pieces";
    String dlq = "registry-" + run + "-dlq";
    TestStack.createTopics(KAFKA.bootstrapServers(), requests, responses, latency, pieces, dlq);

    try (SchemaRegistryServer registry = SchemaRegistryServer.start(dir);
        LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        RedisServer redis = RedisServer.start(dir);
        TestStack.Reader<DeadLetter> letters =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), dlq, DeadLetter.class);
        KafkaConsumer<byte[], byte[]> answers =
            TestStack.fromEarliest(KAFKA.bootstrapServers(), responses, "read_committed")) {
      Configuration config =
          jobConfig(
              "registry-" + run,
              llm,
              redis,
              "--inference.responses-format",
              "REGISTRY",
              "--schema-registry.url",
              registry.confluentApiUrl());
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one task failure fails the job
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.enableCheckpointing(500);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("registry-framed");

      // A producer with a registry serializer registers the schema under <topic>-value and frames
      // every record with the id it got.
      RecordCodec<InferenceRequest> requestCodec = RecordCodec.of(InferenceRequest.class);
      int requestId =
          registry.register(requests + "-value", InferenceRequest.getClassSchema().toString());
      int documentId =
          registry.register(
              "registry-" + run + "-documents-value", Document.getClassSchema().toString());
      List<byte[]> records = new ArrayList<>();
      for (int i = 0; i < FRAMED; i++) {
        records.add(requestCodec.encodeRegistryFramed(request("framed-" + i, i), requestId));
      }
      // The older encodings still work beside it.
      records.add(requestCodec.encode(request("single-object", 100)));
      records.add(requestCodec.encodeJson(request("json", 101)));
      // And what a registry-aware reader must refuse without failing.
      records.add(requestCodec.encodeRegistryFramed(request("unknown-id", 102), 987_654));
      records.add(requestCodec.encodeRegistryFramed(request("other-record", 103), documentId));
      byte[] truncated = requestCodec.encodeRegistryFramed(request("truncated", 104), requestId);
      records.add(Arrays.copyOf(truncated, truncated.length - 7));
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of("bootstrap.servers", KAFKA.bootstrapServers(), "linger.ms", 0),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        for (byte[] record : records) {
          producer.send(new ProducerRecord<>(requests, record));
        }
        producer.flush();
      }

      // Responses as a registry-aware consumer reads them.
      SchemaRegistryClient client =
          new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
      RecordCodec<InferenceResponse> responseCodec =
          RecordCodec.builder(InferenceResponse.class).schemaRegistry(client).build();
      Map<String, InferenceResponse> byId = new HashMap<>();
      List<Integer> responseSchemaIds = new ArrayList<>();
      List<Encoding> encodings = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while ((byId.size() < FRAMED + 2 || letters.seen().size() < 3)
          && System.nanoTime() < deadline) {
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        for (ConsumerRecord<byte[], byte[]> record : answers.poll(Duration.ofMillis(300))) {
          Decoded<InferenceResponse> decoded = responseCodec.decode(record.value());
          assertThat(decoded.failure()).isNull();
          encodings.add(decoded.encoding());
          responseSchemaIds.add(ByteBuffer.wrap(record.value(), 1, 4).getInt());
          byId.put(decoded.value().getRequestId(), decoded.value());
        }
        letters.poll(Duration.ofMillis(100));
      }
      try {
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        assertThat(byId.keySet())
            .as("every decodable request answered")
            .containsAll(List.of("single-object", "json", "framed-0", "framed-" + (FRAMED - 1)))
            .hasSize(FRAMED + 2);
        assertThat(byId.values()).allMatch(r -> r.getStatus() == ResponseStatus.OK);
        assertThat(encodings).containsOnly(Encoding.REGISTRY_AVRO);
        int registered =
            client.idFor(responses + "-value", InferenceResponse.getClassSchema(), false);
        assertThat(responseSchemaIds)
            .as("responses carry the id the job registered under %s-value", responses)
            .containsOnly(registered);
        Map<String, String> reasons = new HashMap<>();
        for (DeadLetter letter : letters.seen()) {
          String payload =
              StandardCharsets.ISO_8859_1.decode(letter.getPayload().duplicate()).toString();
          reasons.put(
              payload.contains("unknown-id")
                  ? "unknown-id"
                  : payload.contains("other-record") ? "other-record" : "truncated",
              letter.getReasonCode() + ": " + letter.getReason());
        }
        assertThat(reasons.get("unknown-id"))
            .startsWith("decode.unknown_schema")
            .contains("987654");
        assertThat(reasons.get("other-record"))
            .startsWith("decode.unknown_schema")
            .contains(Document.getClassSchema().getFullName());
        assertThat(reasons.get("truncated")).startsWith("decode.malformed_avro");
        // Latency records are the platform's own: single-object Avro whatever the responses use.
        try (KafkaConsumer<byte[], byte[]> latencies =
            TestStack.fromEarliest(KAFKA.bootstrapServers(), latency, "read_committed")) {
          List<byte[]> values = new ArrayList<>();
          long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while (values.isEmpty() && System.nanoTime() < until) {
            latencies.poll(Duration.ofMillis(300)).forEach(r -> values.add(r.value()));
          }
          assertThat(values).isNotEmpty().allMatch(v -> v[0] == (byte) 0xC3 && v[1] == 0x01);
        }
      } finally {
        job.cancel().get();
      }
    }
  }

  /**
   * A registry outage is not the records' fault: the source retries, then fails the task, and the
   * restarted task reads the records again once the registry is back. None is dead-lettered and
   * each is answered once. The registry is a real one behind a proxy that refuses connections.
   */
  @Test
  void duringARegistryOutageRecordsWaitAndAreNotDeadLettered(
      @TempDir Path dir, @InjectMiniCluster MiniCluster cluster) throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String requests = "outage-" + run + "-requests";
    String responses = "outage-" + run + "-responses";
    String latency = "outage-" + run + "-latency";
    String pieces = "outage-" + run + "-pieces";
    String dlq = "outage-" + run + "-dlq";
    TestStack.createTopics(KAFKA.bootstrapServers(), requests, responses, latency, pieces, dlq);
    int count = 10;

    try (SchemaRegistryServer registry = SchemaRegistryServer.start(dir);
        BlackholeProxy proxy =
            BlackholeProxy.start("127.0.0.1", URI.create(registry.confluentApiUrl()).getPort());
        LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        RedisServer redis = RedisServer.start(dir);
        TestStack.Reader<InferenceResponse> answers =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), responses, InferenceResponse.class);
        TestStack.Reader<DeadLetter> letters =
            new TestStack.Reader<>(KAFKA.bootstrapServers(), dlq, DeadLetter.class)) {
      int schemaId =
          registry.register(requests + "-value", InferenceRequest.getClassSchema().toString());
      proxy.setMode(BlackholeProxy.Mode.REFUSE);
      Configuration config =
          jobConfig(
              "outage-" + run,
              llm,
              redis,
              "--schema-registry.url",
              "http://" + proxy.address() + "/apis/ccompat/v7",
              "--schema-registry.timeout",
              "2 s");
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
      flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 100);
      flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.enableCheckpointing(500);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("registry-outage");

      RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);
      List<String> ids = new ArrayList<>();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of("bootstrap.servers", KAFKA.bootstrapServers(), "linger.ms", 0),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        for (int i = 0; i < count; i++) {
          ids.add("outage-" + i);
          producer.send(
              new ProducerRecord<>(
                  requests, codec.encodeRegistryFramed(request("outage-" + i, i), schemaId)));
        }
        producer.flush();
      }
      try {
        // Long enough for the source to give up on the registry and the task to restart.
        long restartsBy = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (cluster
                    .getExecutionGraph(job.getJobID())
                    .get()
                    .getStatusTimestamp(JobStatus.RESTARTING)
                == 0
            && System.nanoTime() < restartsBy) {
          Thread.sleep(200);
        }
        assertThat(
                cluster
                    .getExecutionGraph(job.getJobID())
                    .get()
                    .getStatusTimestamp(JobStatus.RESTARTING))
            .as("the task failed over while the registry was unreachable")
            .isPositive();
        answers.poll(Duration.ofMillis(500));
        assertThat(answers.seen()).as("nothing answered during the outage").isEmpty();
        assertThat(letters.seen()).as("nothing dead-lettered during the outage").isEmpty();

        proxy.setMode(BlackholeProxy.Mode.FORWARD);
        answers.until(seen -> seen.size() >= count, Duration.ofMinutes(3));
        answers.poll(Duration.ofSeconds(2)); // a duplicate would show up here
        letters.poll(Duration.ofMillis(500));
        assertThat(answers.seen())
            .extracting(InferenceResponse::getRequestId)
            .containsExactlyInAnyOrderElementsOf(ids);
        assertThat(answers.seen()).allMatch(r -> r.getStatus() == ResponseStatus.OK);
        assertThat(letters.seen()).isEmpty();
      } finally {
        job.cancel().get();
      }
    }
  }

  /**
   * The job's settings on this run's topics ({@code <prefix>-requests}, ...) and servers, then
   * {@code extra} flags.
   */
  private static Configuration jobConfig(
      String prefix, LlmSimServer llm, RedisServer redis, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--kafka.bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--inference.requests-topic",
                prefix + "-requests",
                "--inference.responses-topic",
                prefix + "-responses",
                "--inference.latency-topic",
                prefix + "-latency",
                "--inference.dead-letter-topic",
                prefix + "-dlq",
                "--pieces.topic",
                prefix + "-pieces",
                "--inference.transactional-id-prefix",
                prefix,
                "--llm.endpoints",
                llm.baseUrl(),
                "--llm.models",
                MODEL,
                "--redis.url",
                redis.uri(),
                "--opensearch.url",
                OPENSEARCH.uri().toString()));
    args.addAll(List.of(extra));
    return JobConfig.load(args.toArray(String[]::new), Map.of(), InferenceOptions.ALL);
  }

  private static InferenceRequest request(String id, int n) {
    return RecordCodec.of(InferenceRequest.class)
        .decode(
            TestStack.request(id, "acme", "CHAT", "What is " + n + " plus one?", 16)
                .toString()
                .getBytes(StandardCharsets.UTF_8))
        .value();
  }
}
