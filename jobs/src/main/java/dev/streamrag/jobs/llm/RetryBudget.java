package dev.streamrag.jobs.llm;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Rations retries: over a sliding window, retries may number at most {@code ratio} × the calls
 * begun, or {@code minPerSecond} × the window's seconds, whichever is more. When every endpoint
 * fails, each call then costs the fleet about 1.2 requests instead of {@code maxAttempts}, so that
 * an outage is not multiplied by the retries meant to ride it out (Finagle's and gRPC's retry
 * budgets work this way); the floor keeps retries possible at low traffic.
 *
 * <p>The window is ten buckets, cleared as time passes. Thread-safe; the lock is held for a few
 * additions per call.
 */
final class RetryBudget {
  private static final int BUCKETS = 10;

  private final boolean enabled;
  private final double ratio;
  private final double floor;
  private final long bucketNanos;
  private final LongSupplier nanoClock;
  private final long[] calls = new long[BUCKETS];
  private final long[] retries = new long[BUCKETS];
  private long bucket; // the absolute number of the newest bucket

  RetryBudget(LlmResilienceSettings settings) {
    this(
        settings.retryBudgetEnabled(),
        settings.retryBudgetRatio(),
        settings.retryBudgetMinPerSecond(),
        settings.retryBudgetWindow(),
        System::nanoTime);
  }

  RetryBudget(
      boolean enabled, double ratio, double minPerSecond, Duration window, LongSupplier nanoClock) {
    this.enabled = enabled;
    this.ratio = ratio;
    this.floor = minPerSecond * window.toNanos() / 1e9;
    this.bucketNanos = Math.max(1, window.toNanos() / BUCKETS);
    this.nanoClock = nanoClock;
    this.bucket = Math.floorDiv(nanoClock.getAsLong(), bucketNanos);
  }

  /** A call begins (its first attempt). */
  synchronized void onCall() {
    calls[advance()]++;
  }

  /** Takes one retry from the budget; false when it is spent (the retry must not be made). */
  synchronized boolean tryRetry() {
    int now = advance();
    if (!enabled) {
      retries[now]++;
      return true;
    }
    long callCount = 0;
    long retryCount = 0;
    for (int i = 0; i < BUCKETS; i++) {
      callCount += calls[i];
      retryCount += retries[i];
    }
    if (retryCount + 1 > Math.max(ratio * callCount, floor)) {
      return false;
    }
    retries[now]++;
    return true;
  }

  /** Clears the buckets that slid out of the window; returns the current bucket's index. */
  private int advance() {
    long current = Math.floorDiv(nanoClock.getAsLong(), bucketNanos);
    long passed = current - bucket;
    if (passed > 0) {
      for (long i = 1; i <= Math.min(passed, BUCKETS); i++) {
        int index = (int) Math.floorMod(bucket + i, (long) BUCKETS);
        calls[index] = 0;
        retries[index] = 0;
      }
      bucket = current;
    }
    return (int) Math.floorMod(bucket, (long) BUCKETS);
  }
}
