package dev.streamrag.gateway.http;

/**
 * What the HTTP side asks of the running gateway before it takes a request, without calling Kafka:
 * whether a request produced now would be answered, and whether the gateway is stopping.
 */
public interface ServingState {
  /**
   * Kafka answers, the topics are as configured, the producer exists and the reply partition's
   * consumer is positioned.
   */
  boolean kafkaAvailable();

  /** The gateway is draining before it stops: it takes no new requests. */
  boolean shuttingDown();
}
