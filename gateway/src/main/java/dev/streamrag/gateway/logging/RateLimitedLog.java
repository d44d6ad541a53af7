package dev.streamrag.gateway.logging;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * A warning that may repeat for every request (Kafka refusing sends, upstream errors) logged at
 * most once per interval: the first occurrence is logged, later ones in the same interval are
 * counted and the next line says how many were left out. The details clients must not see (broker
 * addresses, exception texts, upstream bodies) go here, without flooding the log when every request
 * fails the same way. Thread-safe.
 */
public final class RateLimitedLog {
  private final Logger logger;
  private final long intervalNanos;
  private final AtomicLong nextAllowedNanos = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong suppressed = new AtomicLong();

  public RateLimitedLog(Logger logger, long intervalMillis) {
    this.logger = Objects.requireNonNull(logger, "logger");
    if (intervalMillis < 1) {
      throw new IllegalArgumentException("intervalMillis must be positive: " + intervalMillis);
    }
    this.intervalNanos = intervalMillis * 1_000_000;
  }

  /**
   * Logs a warning unless one was logged less than an interval ago.
   *
   * @return whether it was logged
   */
  public boolean warn(String format, Object... arguments) {
    long now = System.nanoTime();
    long next = nextAllowedNanos.get();
    if ((next != Long.MIN_VALUE && now - next < 0)
        || !nextAllowedNanos.compareAndSet(next, now + intervalNanos)) {
      suppressed.incrementAndGet();
      return false;
    }
    long left = suppressed.getAndSet(0);
    if (left > 0) {
      logger.warn(format + " ({} more like it were not logged)", append(arguments, left));
    } else {
      logger.warn(format, arguments);
    }
    return true;
  }

  private static Object[] append(Object[] arguments, long left) {
    // A trailing Throwable must stay last for SLF4J to print its stack trace.
    int last = arguments.length - 1;
    Object[] extended = new Object[arguments.length + 1];
    if (last >= 0 && arguments[last] instanceof Throwable) {
      System.arraycopy(arguments, 0, extended, 0, last);
      extended[last] = left;
      extended[last + 1] = arguments[last];
    } else {
      System.arraycopy(arguments, 0, extended, 0, arguments.length);
      extended[arguments.length] = left;
    }
    return extended;
  }
}
