package dev.streamrag.jobs.kafka;

import dev.streamrag.jobs.config.CommonOptions;
import dev.streamrag.schemas.registry.SchemaRegistryClient;
import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Where the jobs' Kafka readers and writers find the schema registry; shipped with the job graph
 * (so it holds settings, not a client) and turned into a client when a task opens.
 */
public record SchemaRegistrySettings(String url, Duration timeout, boolean autoRegister)
    implements Serializable {
  public SchemaRegistrySettings {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(timeout, "timeout");
    // Fails at job submission, not in a task: the same check the client makes.
    SchemaRegistryClient.checkUrl(url);
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("schema-registry.timeout must be positive: " + timeout);
    }
  }

  /** The configured registry, or empty when {@code schema-registry.url} is not set. */
  public static Optional<SchemaRegistrySettings> from(ReadableConfig config) {
    String url = config.get(CommonOptions.SCHEMA_REGISTRY_URL).trim();
    if (url.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new SchemaRegistrySettings(
            url,
            config.get(CommonOptions.SCHEMA_REGISTRY_TIMEOUT),
            config.get(CommonOptions.SCHEMA_REGISTRY_AUTO_REGISTER)));
  }

  /** A new client (each task makes its own: the client caches, it is not serializable). */
  public SchemaRegistryClient client() {
    return new SchemaRegistryClient(url, timeout);
  }

  /** The topic name strategy's subject for a topic's record values. */
  public static String valueSubject(String topic) {
    return topic + "-value";
  }
}
