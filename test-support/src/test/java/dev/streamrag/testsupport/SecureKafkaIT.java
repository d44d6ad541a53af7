package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secured broker is what it claims: SASL_SSL only, a user with ACLs may use its topic, a user
 * without them is refused, a wrong password and a plaintext client get nowhere.
 */
@Timeout(180)
class SecureKafkaIT {
  @TempDir static Path dir;
  private static KafkaServer kafka;

  @BeforeAll
  static void start() throws Exception {
    kafka = KafkaServer.startSecure(dir, List.of("alice", "mallory"));
    try (Admin admin = Admin.create(kafka.clientConfig(KafkaServer.ADMIN))) {
      admin.createTopics(List.of(new NewTopic("alice.topic", 1, (short) 1))).all().get();
      ResourcePattern topic =
          new ResourcePattern(ResourceType.TOPIC, "alice.topic", PatternType.LITERAL);
      admin
          .createAcls(
              List.of(
                  allow(topic, AclOperation.WRITE),
                  allow(topic, AclOperation.READ),
                  allow(
                      new ResourcePattern(ResourceType.GROUP, "alice-", PatternType.PREFIXED),
                      AclOperation.READ)))
          .all()
          .get();
    }
  }

  private static AclBinding allow(ResourcePattern resource, AclOperation operation) {
    return new AclBinding(
        resource, new AccessControlEntry("User:alice", "*", operation, AclPermissionType.ALLOW));
  }

  @AfterAll
  static void stop() {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void aUserWithAclsProducesAndConsumes() throws Exception {
    try (KafkaProducer<String, String> producer = producer(kafka.clientConfig("alice"))) {
      producer.send(new ProducerRecord<>("alice.topic", "k", "hello")).get();
    }
    Map<String, Object> config = new HashMap<>(kafka.clientConfig("alice"));
    config.put("group.id", "alice-1");
    config.put("auto.offset.reset", "earliest");
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of("alice.topic"));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      int seen = 0;
      while (seen == 0 && System.nanoTime() < deadline) {
        seen += consumer.poll(Duration.ofMillis(200)).count();
      }
      assertThat(seen).isEqualTo(1);
    }
  }

  @Test
  void aUserWithoutAclsIsRefused() {
    try (KafkaProducer<String, String> producer = producer(kafka.clientConfig("mallory"))) {
      assertThatThrownBy(() -> producer.send(new ProducerRecord<>("alice.topic", "x")).get())
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(TopicAuthorizationException.class);
    }
  }

  @Test
  void aWrongPasswordIsRefused() {
    Map<String, Object> config = new HashMap<>(kafka.clientConfig("alice"));
    config.put("sasl.jaas.config", KafkaServer.jaas("alice", "not-the-password"));
    config.put("max.block.ms", 10_000);
    try (KafkaProducer<String, String> producer = producer(config)) {
      assertThatThrownBy(() -> producer.send(new ProducerRecord<>("alice.topic", "x")).get())
          .hasRootCauseInstanceOf(SaslAuthenticationException.class);
    }
  }

  @Test
  void aPlaintextClientGetsNoMetadata() {
    Map<String, Object> config =
        Map.of("bootstrap.servers", kafka.bootstrapServers(), "max.block.ms", 3_000);
    try (KafkaProducer<String, String> producer = producer(config)) {
      assertThatThrownBy(() -> producer.send(new ProducerRecord<>("alice.topic", "x")).get())
          .hasMessageContaining("not present in metadata");
    }
  }

  private static KafkaProducer<String, String> producer(Map<String, Object> config) {
    return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
  }
}
