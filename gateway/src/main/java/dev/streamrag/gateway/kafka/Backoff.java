package dev.streamrag.gateway.kafka;

/**
 * Exponential backoff for recreating a Kafka client that could not be created or failed: {@code
 * initial}, doubling up to {@code max}, back to {@code initial} after a success. Not thread-safe:
 * one per retrying thread.
 */
final class Backoff {
  private final long initialMillis;
  private final long maxMillis;
  private long nextMillis;
  private long notBeforeNanos = Long.MIN_VALUE;

  Backoff(long initialMillis, long maxMillis) {
    if (initialMillis < 1 || maxMillis < initialMillis) {
      throw new IllegalArgumentException(
          "need 0 < initial (" + initialMillis + ") <= max (" + maxMillis + ")");
    }
    this.initialMillis = initialMillis;
    this.maxMillis = maxMillis;
    this.nextMillis = initialMillis;
  }

  /** The wait before the next attempt, doubling the one after it. */
  long next() {
    long wait = nextMillis;
    nextMillis = Math.min(maxMillis, nextMillis * 2);
    notBeforeNanos = System.nanoTime() + wait * 1_000_000;
    return wait;
  }

  /** Whether the wait {@link #next()} returned last has passed. */
  boolean due() {
    return notBeforeNanos == Long.MIN_VALUE || System.nanoTime() - notBeforeNanos >= 0;
  }

  void reset() {
    nextMillis = initialMillis;
    notBeforeNanos = Long.MIN_VALUE;
  }
}
