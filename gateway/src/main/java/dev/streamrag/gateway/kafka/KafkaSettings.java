package dev.streamrag.gateway.kafka;

import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * Where the gateway's Kafka traffic goes: the cluster, the requests topic it produces to, and the
 * one partition of the pieces topic it reads.
 *
 * @param client the brokers and the Kafka client properties (SASL, TLS) every client starts from
 * @param timeout how long any Kafka call may take before the gateway treats Kafka as unreachable;
 *     short, so that no HTTP request waits on a broker that is gone
 */
public record KafkaSettings(
    KafkaClientSettings client,
    String requestsTopic,
    String piecesTopic,
    int replyPartition,
    Duration timeout) {
  public KafkaSettings {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(requestsTopic, "requestsTopic");
    Objects.requireNonNull(piecesTopic, "piecesTopic");
    Objects.requireNonNull(timeout, "timeout");
    if (requestsTopic.isBlank() || piecesTopic.isBlank()) {
      throw new IllegalArgumentException("topics must not be blank");
    }
    if (replyPartition < 0) {
      throw new IllegalArgumentException("replyPartition must not be negative: " + replyPartition);
    }
    if (timeout.toMillis() < 100) {
      throw new IllegalArgumentException("the Kafka timeout must be at least 100 ms: " + timeout);
    }
  }

  /** Plaintext, unauthenticated brokers: tests and local stacks. */
  public KafkaSettings(
      String bootstrapServers,
      String requestsTopic,
      String piecesTopic,
      int replyPartition,
      Duration timeout) {
    this(
        KafkaClientSettings.plaintext(bootstrapServers),
        requestsTopic,
        piecesTopic,
        replyPartition,
        timeout);
  }

  public String bootstrapServers() {
    return client.bootstrapServers();
  }

  /** Settings every client of the gateway shares: the brokers and client properties first. */
  Properties common(String clientId) {
    Properties properties = client.toProperties();
    properties.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    // Reconnect attempts to a dead broker at most once a second, not in a tight loop.
    properties.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
    return properties;
  }

  int timeoutMillis() {
    return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
  }
}
