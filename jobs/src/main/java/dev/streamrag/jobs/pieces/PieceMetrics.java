package dev.streamrag.jobs.pieces;

/**
 * What a stage counts of the pieces it publishes. Called from producer and HTTP client threads:
 * implementations must be thread-safe.
 */
public interface PieceMetrics {
  PieceMetrics NONE = new PieceMetrics() {};

  /** Kafka acknowledged a piece of {@code bytes} encoded bytes. */
  default void sent(int bytes) {}

  /** Kafka refused a piece or it could not be sent (too large, broker unreachable). */
  default void failed() {}

  /** A piece named a partition its topic does not have: it was dropped. */
  default void undeliverable() {}

  /** A DELTA piece went out holding {@code tokens} tokens. */
  default void delta(int tokens) {}

  /** A stream sent its answer again as a newer generation, after one of its pieces was lost. */
  default void repaired() {}

  /** A stream gave up repairing: its answer is only in the committed response. */
  default void gaveUp() {}
}
