package dev.streamrag.testsupport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.Encoding;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An InferenceRequest produced to the real broker comes back decoded, as Avro and as JSON. */
@Timeout(120)
class KafkaSmokeIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private final RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);

  @Test
  void requestsProducedAsAvroAndJsonAreConsumedBackDecoded() throws Exception {
    String topic = "smoke-requests-" + UUID.randomUUID();
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
    }

    InferenceRequest avro =
        InferenceRequest.newBuilder()
            .setRequestId("req-avro")
            .setTenantId("acme")
            .setKind(RequestKind.RAG)
            .setMessages(
                List.of(
                    new ChatMessage(ChatRole.USER, "Who founded Zorblax?", null, null, List.of())))
            .setCreatedAt(Instant.ofEpochMilli(1_769_860_800_000L))
            .build();
    String json =
        "{\"request_id\":\"req-json\",\"tenant_id\":\"acme\",\"kind\":\"chat\","
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":16}";

    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(producerProps, new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topic, "req-avro", codec.encode(avro))).get();
      producer.send(new ProducerRecord<>(topic, "req-json", json.getBytes(UTF_8))).get();
    }

    Properties consumerProps = new Properties();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "smoke-" + UUID.randomUUID());
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<ConsumerRecord<String, byte[]>> received = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(consumerProps, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (received.size() < 2 && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(received::add);
      }
    }

    assertThat(received).hasSize(2);
    for (ConsumerRecord<String, byte[]> record : received) {
      Decoded<InferenceRequest> decoded = codec.decode(record.value());
      assertThat(decoded.failure()).isNull();
      assertThat(decoded.value().getRequestId()).isEqualTo(record.key());
      if (record.key().equals("req-avro")) {
        assertThat(decoded.encoding()).isEqualTo(Encoding.AVRO);
        assertThat(decoded.value()).isEqualTo(avro);
      } else {
        assertThat(decoded.encoding()).isEqualTo(Encoding.JSON);
        assertThat(decoded.value().getKind()).isEqualTo(RequestKind.CHAT);
        assertThat(decoded.value().getMaxTokens()).isEqualTo(16);
        assertThat(decoded.value().getMessages().get(0).getContent()).isEqualTo("Hello");
      }
    }
  }
}
