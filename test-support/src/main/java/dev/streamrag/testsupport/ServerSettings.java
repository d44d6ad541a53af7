package dev.streamrag.testsupport;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Settings of the fixtures: a system property wins over the environment variable of the same
 * meaning ({@code streamrag.kafka.bootstrap} / {@code STREAMRAG_KAFKA_BOOTSTRAP}).
 */
public final class ServerSettings {
  private ServerSettings() {}

  /** {@code property} as a system property, else as the derived environment variable. */
  public static Optional<String> get(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      value = System.getenv(property.toUpperCase().replace('.', '_').replace('-', '_'));
    }
    return Optional.ofNullable(value).map(String::trim).filter(v -> !v.isEmpty());
  }

  /** Where servers keep their data and logs: {@code streamrag.servers.dir}, else target/servers. */
  public static Path serversDir() {
    return Path.of(get("streamrag.servers.dir").orElse("target/servers")).toAbsolutePath();
  }
}
