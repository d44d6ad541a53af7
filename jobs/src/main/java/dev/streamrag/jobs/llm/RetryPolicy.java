package dev.streamrag.jobs.llm;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How often and how patiently a failed LLM attempt is tried again: at most {@code maxAttempts} in
 * all, waiting a random time between 0 and {@code min(maxBackoff, baseBackoff × 2^retry)} before
 * each retry ("full jitter", so that clients turned away together by a 429 do not return together).
 * A retry is only made if it can start before the request's deadline.
 */
public record RetryPolicy(int maxAttempts, Duration baseBackoff, Duration maxBackoff)
    implements Serializable {
  public RetryPolicy {
    Objects.requireNonNull(baseBackoff, "baseBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
    if (baseBackoff.isNegative() || maxBackoff.compareTo(baseBackoff) < 0) {
      throw new IllegalArgumentException(
          "need 0 <= baseBackoff <= maxBackoff, got " + baseBackoff + " and " + maxBackoff);
    }
  }

  /** The wait before retry number {@code retry} (1 for the first retry), in ms. */
  public long backoffMillis(int retry, RandomGenerator random) {
    long cap = baseBackoff.toMillis() << Math.min(retry - 1, 20);
    long bound = Math.min(maxBackoff.toMillis(), cap);
    return bound <= 0 ? 0 : random.nextLong(bound + 1);
  }
}
