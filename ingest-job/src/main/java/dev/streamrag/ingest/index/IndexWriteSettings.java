package dev.streamrag.ingest.index;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * How the index writer batches and retries: a bulk request when {@code maxActions} actions are
 * buffered or the oldest has waited {@code maxWait}; an action OpenSearch answers 429 or 5xx (or a
 * request that cannot reach it) is retried after {@code backoff} doubled each time (with jitter),
 * at most {@link #MAX_BACKOFF} apart, until {@code flushTimeout} after the flush began. That one
 * deadline covers everything a flush does (retries, split halves, rollbacks), so a flush, which
 * runs before the checkpoint barrier, can never outlast the checkpoint timeout.
 */
public record IndexWriteSettings(
    int maxActions, Duration maxWait, Duration flushTimeout, Duration backoff)
    implements Serializable {

  /** The longest pause between two tries. */
  public static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  public IndexWriteSettings {
    Objects.requireNonNull(maxWait, "maxWait");
    Objects.requireNonNull(backoff, "backoff");
    Objects.requireNonNull(flushTimeout, "flushTimeout");
    if (maxActions < 1) {
      throw new IllegalArgumentException("bulk size must be at least 1, got " + maxActions);
    }
    if (maxWait.isNegative() || backoff.isNegative()) {
      throw new IllegalArgumentException("bulk wait and backoff must not be negative");
    }
    if (flushTimeout.isNegative() || flushTimeout.isZero()) {
      throw new IllegalArgumentException("flush timeout must be positive, got " + flushTimeout);
    }
  }

  /** The pause before try {@code attempt} (1 = the first retry): doubling, jittered, capped. */
  long backoffMillis(int attempt, double random) {
    long base = backoff.toMillis() << Math.min(attempt - 1, 20);
    long capped = Math.min(MAX_BACKOFF.toMillis(), base);
    return (long) (capped * (0.5 + random / 2)); // 50–100% of it, so writers do not retry in step
  }
}
