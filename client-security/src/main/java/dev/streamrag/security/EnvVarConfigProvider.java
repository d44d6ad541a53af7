package dev.streamrag.security;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.ConfigData;
import org.apache.kafka.common.config.provider.ConfigProvider;

/**
 * Kafka's {@code ${env:NAME}}: the value of an environment variable. Kafka ships one from
 * kafka-clients 3.5 (KIP-887); Flink's Kafka connector for 1.20 is built against 3.4, which has the
 * file and directory providers only, so this stands in until the connector moves on.
 */
public final class EnvVarConfigProvider implements ConfigProvider {
  @Override
  public void configure(Map<String, ?> configs) {}

  @Override
  public ConfigData get(String path) {
    return new ConfigData(new HashMap<>(System.getenv()));
  }

  @Override
  public ConfigData get(String path, Set<String> keys) {
    Map<String, String> values = new HashMap<>();
    for (String key : keys) {
      String value = System.getenv(key);
      if (value != null) {
        values.put(key, value);
      }
    }
    return new ConfigData(values);
  }

  @Override
  public void close() {}
}
