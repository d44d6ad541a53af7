package dev.streamrag.gateway.kafka;

import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * Where the gateway's Kafka traffic goes: the cluster, the requests topic it produces to, and the
 * one partition of the pieces topic it reads.
 *
 * @param timeout how long any Kafka call may take before the gateway treats Kafka as unreachable;
 *     short, so that no HTTP request waits on a broker that is gone
 */
public record KafkaSettings(
    String bootstrapServers,
    String requestsTopic,
    String piecesTopic,
    int replyPartition,
    Duration timeout) {
  public KafkaSettings {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(requestsTopic, "requestsTopic");
    Objects.requireNonNull(piecesTopic, "piecesTopic");
    Objects.requireNonNull(timeout, "timeout");
    if (bootstrapServers.isBlank() || requestsTopic.isBlank() || piecesTopic.isBlank()) {
      throw new IllegalArgumentException("bootstrap servers and topics must not be blank");
    }
    if (replyPartition < 0) {
      throw new IllegalArgumentException("replyPartition must not be negative: " + replyPartition);
    }
    if (timeout.toMillis() < 100) {
      throw new IllegalArgumentException("the Kafka timeout must be at least 100 ms: " + timeout);
    }
  }

  /** Settings every client of the gateway shares. */
  Properties common(String clientId) {
    Properties properties = new Properties();
    properties.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    // Reconnect attempts to a dead broker at most once a second, not in a tight loop.
    properties.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
    return properties;
  }

  int timeoutMillis() {
    return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
  }
}
