package dev.streamrag.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClientSettingsTest {
  private static final String JAAS_PREFIX =
      "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"rag\"";

  @TempDir Path dir;

  @Test
  void theFileAndPassThroughSettingsReachTheClientAndPassThroughWins() throws Exception {
    Path file = dir.resolve("client.properties");
    Files.writeString(
        file, "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\nclient.dns.lookup=x\n");
    KafkaClientSettings settings =
        KafkaClientSettings.of(
            "b:9093", file, Map.of("sasl.mechanism", "SCRAM-SHA-512", "client.dns.lookup", "y"));
    assertThat(settings.toProperties())
        .containsEntry("bootstrap.servers", "b:9093")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .doesNotContainKey("config.providers");
    assertThat(settings.isPlaintext()).isFalse();
  }

  @Test
  void referencesAreResolvedByTheKafkaClientItselfNotBeforehand() throws Exception {
    Files.writeString(dir.resolve("sasl.jaas.config"), JAAS_PREFIX + " password=\"pw-1\";");
    KafkaClientSettings settings =
        KafkaClientSettings.of(
            "b:9093",
            null,
            Map.of(
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", "${dir:" + dir + ":sasl.jaas.config}",
                "client.id", "${env:PATH}"));
    assertThat(settings.toProperties().getProperty("sasl.jaas.config"))
        .as("what is serialized holds the reference")
        .startsWith("${dir:");
    assertThat(settings.toString()).doesNotContain("pw-1");

    // What a producer, consumer or admin client does with its config at construction.
    Map<String, Object> config = settings.toMap();
    config.put("key.serializer", StringSerializer.class);
    config.put("value.serializer", StringSerializer.class);
    ProducerConfig resolved = new ProducerConfig(config);
    assertThat(resolved.getPassword("sasl.jaas.config").value()).endsWith("password=\"pw-1\";");
    assertThat(resolved.getString("client.id")).isEqualTo(System.getenv("PATH"));
  }

  @Test
  void secretsWrittenOutAreRefusedWithoutRepeatingThem() throws Exception {
    Path file = dir.resolve("client.properties");
    Files.writeString(file, "ssl.keystore.password=hunter2\n");
    assertThatThrownBy(() -> KafkaClientSettings.of("b:9093", file, Map.of()))
        .hasMessageContaining("ssl.keystore.password holds a secret")
        .hasMessageContaining(file.toString())
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(
            () ->
                KafkaClientSettings.of(
                    "b:9093",
                    null,
                    Map.of("sasl.jaas.config", JAAS_PREFIX + " password=\"hunter2\";")))
        .hasMessageContaining("sasl.jaas.config has a password")
        .hasMessageNotContaining("hunter2");
    for (String unquoted : new String[] {" password=hunter2;", " password='hunter2';"}) {
      assertThatThrownBy(
              () ->
                  KafkaClientSettings.of(
                      "b:9093", null, Map.of("sasl.jaas.config", JAAS_PREFIX + unquoted)))
          .as("Kafka's JAAS parser takes unquoted and single-quoted values too")
          .hasMessageContaining("sasl.jaas.config has a password")
          .hasMessageNotContaining("hunter2");
    }
    // A JAAS line whose secret option is a reference is fine.
    KafkaClientSettings.of(
        "b:9093", null, Map.of("sasl.jaas.config", JAAS_PREFIX + " password=\"${env:PW}\";"));
  }

  @Test
  void propertiesThePlatformSetsAreRefused() {
    assertThatThrownBy(
            () -> KafkaClientSettings.of("b:9093", null, Map.of("bootstrap.servers", "other:1")))
        .hasMessageContaining("kafka.bootstrap-servers");
    assertThatThrownBy(() -> KafkaClientSettings.of("b:9093", dir.resolve("missing"), Map.of()))
        .hasMessageContaining("cannot read the Kafka client properties");
  }
}
