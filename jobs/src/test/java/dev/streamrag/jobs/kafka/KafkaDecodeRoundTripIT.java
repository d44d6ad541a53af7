package dev.streamrag.jobs.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Valid and malformed records on a real topic, through a Flink job on a MiniCluster: valid ones
 * come out re-encoded as Avro, malformed ones land on the dead-letter topic with their reason and
 * origin, and the job finishes normally. Nothing is lost.
 */
@Timeout(180)
class KafkaDecodeRoundTripIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  @Test
  void validRecordsPassAndMalformedOnesAreDeadLettered() throws Exception {
    String suffix = UUID.randomUUID().toString();
    String input = "in-" + suffix;
    String output = "out-" + suffix;
    String deadLetters = "dlq-" + suffix;
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(input, 2, (short) 1),
                  new NewTopic(output, 2, (short) 1),
                  new NewTopic(deadLetters, 1, (short) 1)))
          .all()
          .get();
    }

    RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);
    List<byte[]> good = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      byte[] json =
          ("{\"requestId\":\"ok-" + i + "\",\"tenantId\":\"t\",\"prompt\":\"q" + i + "\"}")
              .getBytes(UTF_8);
      good.add(i % 2 == 0 ? json : codec.encode(codec.decode(json).value()));
    }
    List<byte[]> bad =
        List.of(
            "not json".getBytes(UTF_8),
            "{\"requestId\":\"broken-1\",\"tenantId\":\"t\",\"kind\":\"SING\"}".getBytes(UTF_8),
            new byte[] {(byte) 0xC3, 0x01, 9, 9, 9, 9, 9, 9, 9, 9, 2, 'x'});
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      for (byte[] value : good) {
        producer.send(new ProducerRecord<>(input, value)).get();
      }
      for (byte[] value : bad) {
        producer.send(new ProducerRecord<>(input, value)).get();
      }
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.getConfig().disableGenericTypes();
    env.setParallelism(2);
    KafkaSource<org.apache.flink.types.Either<DeadLetter, InferenceRequest>> source =
        KafkaSource.<org.apache.flink.types.Either<DeadLetter, InferenceRequest>>builder()
            .setBootstrapServers(KAFKA.bootstrapServers())
            .setTopics(input)
            .setGroupId("it-" + suffix)
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(new DecodingDeserializer<>(InferenceRequest.class, "it-job"))
            .build();
    SingleOutputStreamOperator<InferenceRequest> requests =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "requests")
            .process(new SplitDeadLetters<>())
            .name("split-dead-letters");
    requests.sinkTo(
        KafkaSink.<InferenceRequest>builder()
            .setBootstrapServers(KAFKA.bootstrapServers())
            .setRecordSerializer(
                new AvroRecordSerializer<>(
                    InferenceRequest.class, output, InferenceRequest::getRequestId))
            .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
            .build());
    requests
        .getSideOutput(SplitDeadLetters.DEAD_LETTERS)
        .sinkTo(
            KafkaSink.<DeadLetter>builder()
                .setBootstrapServers(KAFKA.bootstrapServers())
                .setRecordSerializer(
                    new AvroRecordSerializer<>(DeadLetter.class, deadLetters, null))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .build());
    env.execute("decode-round-trip");

    List<byte[]> out = readAll(output, good.size());
    assertThat(out).hasSize(good.size());
    assertThat(out)
        .extracting(bytes -> codec.decode(bytes).value().getRequestId())
        .containsExactlyInAnyOrder("ok-0", "ok-1", "ok-2", "ok-3", "ok-4");

    RecordCodec<DeadLetter> deadCodec = RecordCodec.of(DeadLetter.class);
    List<DeadLetter> dead =
        readAll(deadLetters, bad.size()).stream().map(b -> deadCodec.decode(b).value()).toList();
    assertThat(dead)
        .extracting(DeadLetter::getReasonCode)
        .containsExactlyInAnyOrder(
            "decode.unknown_encoding", "decode.invalid_field", "decode.unknown_schema");
    assertThat(dead).allSatisfy(d -> assertThat(d.getTopic()).isEqualTo(input));
    assertThat(dead)
        .filteredOn(d -> d.getReasonCode().equals("decode.invalid_field"))
        .singleElement()
        .satisfies(d -> assertThat(d.getRequestId()).isEqualTo("broken-1"));
  }

  private static List<byte[]> readAll(String topic, int expected) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<byte[]> values = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(300)).forEach(r -> values.add(r.value()));
        if (values.size() >= expected) {
          // One more poll: anything beyond what was expected would be a duplicate.
          consumer.poll(Duration.ofMillis(1000)).forEach(r -> values.add(r.value()));
          break;
        }
      }
    }
    return values;
  }
}
