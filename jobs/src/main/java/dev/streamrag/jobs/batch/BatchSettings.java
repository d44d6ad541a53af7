package dev.streamrag.jobs.batch;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * When a micro-batch is flushed: when it holds {@code maxSize} elements, or when its oldest element
 * has waited {@code maxWait}, whichever comes first.
 */
public record BatchSettings(int maxSize, Duration maxWait) implements Serializable {
  public BatchSettings {
    Objects.requireNonNull(maxWait, "maxWait");
    if (maxSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + maxSize);
    }
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("batch wait must not be negative, got " + maxWait);
    }
  }
}
