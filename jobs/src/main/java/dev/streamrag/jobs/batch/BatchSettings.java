package dev.streamrag.jobs.batch;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * When a micro-batch is flushed: when it holds {@code maxSize} elements, or when its oldest element
 * has waited {@code maxWait}, whichever comes first. With {@code idleGap}, an element that starts a
 * batch while elements arrive on average further apart than that is processed at once: nobody is
 * likely to join it within the wait, which would then be pure latency.
 *
 * @param idleGap null or zero: always wait
 */
public record BatchSettings(int maxSize, Duration maxWait, Duration idleGap)
    implements Serializable {

  /** Batches that always wait for company. */
  public BatchSettings(int maxSize, Duration maxWait) {
    this(maxSize, maxWait, null);
  }

  public BatchSettings {
    Objects.requireNonNull(maxWait, "maxWait");
    if (idleGap != null && idleGap.isNegative()) {
      throw new IllegalArgumentException("idle gap must not be negative, got " + idleGap);
    }
    if (maxSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + maxSize);
    }
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("batch wait must not be negative, got " + maxWait);
    }
  }
}
