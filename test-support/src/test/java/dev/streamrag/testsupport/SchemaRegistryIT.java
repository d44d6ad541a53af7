package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.SchemaRegistryUnavailableException;
import dev.streamrag.schemas.registry.SchemaRegistryClient;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.SchemaNormalization;
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
    // Registered without Java-only properties: the same encoding, readable by any language.
    Schema stored = client.schemaById(id);
    assertThat(SchemaNormalization.parsingFingerprint64(stored))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(schema));
    assertThat(stored.toString()).doesNotContain("avro.java.string");
  }

  @Test
  void answersAreRememberedSoAnOutageDoesNotReachCachedIds() {
    int known = registry.register("it-cached-value", Document.getClassSchema().toString());
    try (BlackholeProxy proxy =
        BlackholeProxy.start("127.0.0.1", URI.create(registry.confluentApiUrl()).getPort())) {
      SchemaRegistryClient client =
          new SchemaRegistryClient(
              "http://" + proxy.address() + "/apis/ccompat/v7", Duration.ofSeconds(1));
      assertThat(client.schemaById(known)).isEqualTo(Document.getClassSchema());
      assertThat(client.schemaById(987_654)).as("unknown: 404 with error code 40403").isNull();
      assertThat(client.schemaById(0)).as("no registry hands out id 0").isNull();

      proxy.setMode(BlackholeProxy.Mode.REFUSE);
      assertThat(client.schemaById(known)).as("cached").isEqualTo(Document.getClassSchema());
      assertThat(client.schemaById(987_654)).as("remembered, not asked again").isNull();
      assertThatThrownBy(() -> client.schemaById(987_655))
          .isInstanceOf(SchemaRegistryUnavailableException.class);
    }
  }

  /**
   * The likeliest misconfiguration: Apicurio's address without its API path. Its 404s there are not
   * "schema not found", and must not make every id look unknown (and every record a dead letter);
   * the client reports the registry unavailable, naming the URL to check.
   */
  @Test
  void aBaseUrlWithoutTheApiPathIsAMisconfigurationNotUnknownIds() {
    String root = registry.confluentApiUrl().replace("/apis/ccompat/v7", "");
    SchemaRegistryClient client = new SchemaRegistryClient(root, Duration.ofSeconds(1));
    assertThatThrownBy(() -> client.schemaById(1))
        .isInstanceOf(SchemaRegistryUnavailableException.class)
        .hasMessageContaining("API's base");
  }

  @Test
  void aUrlWithCredentialsIsRefusedWithoutRepeatingThem() {
    assertThatThrownBy(
            () ->
                new SchemaRegistryClient(
                    "http://user:s3cret@127.0.0.1:8081/apis/ccompat/v7", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void aLookupAcceptsTheSameEncodingRegisteredUnderAnotherText() {
    // Another tool registered the contract with different documentation: not the same text, the
    // same binary encoding (Parsing Canonical Form).
    String otherText =
        InferenceRequest.getClassSchema().toString().replace("\"doc\":\"", "\"doc\":\"(theirs) ");
    int theirs = registry.register("it-theirs-value", otherText);
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.confluentApiUrl(), Duration.ofSeconds(10));
    assertThat(client.idFor("it-theirs-value", InferenceRequest.getClassSchema(), false))
        .isEqualTo(theirs);
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
