package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.SchemaRegistryUnavailableException;
import dev.streamrag.schemas.registry.SchemaRegistryClient;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project's registry client against a real registry (Apicurio Registry, Confluent-compatible
 * API): registering, looking up, reading schemas by id, and what each refusal looks like.
 */
@Timeout(300)
class SchemaRegistryIT {
  @TempDir static Path dir;
  private static SchemaRegistryServer registry;

  @BeforeAll
  static void start() {
    registry = SchemaRegistryServer.start(dir);
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void registersLooksUpAndReadsSchemasById() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
    Schema schema = InferenceRequest.getClassSchema();

    int id = client.idFor("it-requests-value", schema, true);
    assertThat(client.idFor("it-requests-value", schema, true))
        .as("registering the same schema again returns its id")
        .isEqualTo(id);
    assertThat(
            new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10))
                .idFor("it-requests-value", schema, false))
        .as("a lookup without registering finds it")
        .isEqualTo(id);
    assertThat(client.schemaById(id)).isEqualTo(schema);
    // What a producer in another language registered is the same id here.
    assertThat(registry.register("it-requests-value", schema.toString())).isEqualTo(id);
  }

  @Test
  void anUnknownIdIsNullNotAnError() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
    assertThat(client.schemaById(987_654)).isNull();
    assertThat(client.schemaById(987_654)).as("remembered, not asked again").isNull();
  }

  @Test
  void aSchemaNotRegisteredIsRefusedNamingTheSubject() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
    assertThatThrownBy(() -> client.idFor("it-absent-value", Document.getClassSchema(), false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("it-absent-value")
        .hasMessageContaining("auto-register");
  }

  @Test
  void anIncompatibleSchemaIsRefusedByTheRegistrysRule() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
    Schema v1 =
        SchemaBuilder.record("Evolving").namespace("it").fields().requiredString("a").endRecord();
    Schema breaking =
        SchemaBuilder.record("Evolving").namespace("it").fields().requiredInt("b").endRecord();
    client.idFor("it-evolving-value", v1, true);
    registry.requireBackwardCompatibility("it-evolving-value");
    assertThatThrownBy(() -> client.idFor("it-evolving-value", breaking, true))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("HTTP 409");
  }

  @Test
  void aRegistryThatIsNotThereIsUnavailableAfterTheTimeout() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(
            "http://127.0.0.1:" + Ports.freePort() + "/apis/ccompat/v7", Duration.ofSeconds(1));
    long started = System.nanoTime();
    assertThatThrownBy(() -> client.schemaById(1))
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .hasMessageContaining("unavailable");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
  }
}
