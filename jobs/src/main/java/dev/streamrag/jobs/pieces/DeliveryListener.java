package dev.streamrag.jobs.pieces;

/**
 * Told when one of a stream's pieces did not reach Kafka. Called from the publisher's sender or the
 * producer's I/O thread: must not block.
 */
interface DeliveryListener {
  DeliveryListener NONE = new DeliveryListener() {};

  /**
   * A piece of {@code generation} was lost for now (Kafka refused it, timed out, or was
   * unreachable).
   */
  default void lost(long generation) {}

  /** A piece can never be delivered where it is addressed (a partition the topic lacks). */
  default void undeliverable(long generation) {}
}
