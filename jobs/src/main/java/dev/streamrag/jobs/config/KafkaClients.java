package dev.streamrag.jobs.config;

import dev.streamrag.security.KafkaClientSettings;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;

/**
 * The Kafka client settings of a job: {@code kafka.bootstrap-servers}, the properties file {@code
 * kafka.properties-file} and the pass-through {@code kafka.client.*} settings. Every Kafka source,
 * sink, producer, consumer and admin client of the jobs starts from these, so one file secures them
 * all.
 */
public final class KafkaClients {
  private KafkaClients() {}

  /**
   * @throws IllegalArgumentException if the file cannot be read or holds a secret written out
   */
  public static KafkaClientSettings from(Configuration config) {
    String file = config.get(CommonOptions.KAFKA_PROPERTIES_FILE);
    Map<String, String> passThrough = new TreeMap<>();
    config
        .toMap()
        .forEach(
            (key, value) -> {
              if (key.startsWith(CommonOptions.KAFKA_CLIENT_PREFIX)) {
                passThrough.put(key.substring(CommonOptions.KAFKA_CLIENT_PREFIX.length()), value);
              }
            });
    return KafkaClientSettings.of(
        config.get(CommonOptions.KAFKA_BOOTSTRAP),
        file.isBlank() ? null : Path.of(file),
        passThrough);
  }
}
