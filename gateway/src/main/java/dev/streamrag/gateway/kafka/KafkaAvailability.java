package dev.streamrag.gateway.kafka;

/**
 * Whether a request produced now would be answered: Kafka answers, the topics are as configured,
 * and the reply partition's consumer is positioned. Read on the request path, so it never calls
 * Kafka itself.
 */
public interface KafkaAvailability {
  boolean available();

  /** Why not {@link #available()}, for the 503 message and {@code /health}; null if it is. */
  String reason();
}
