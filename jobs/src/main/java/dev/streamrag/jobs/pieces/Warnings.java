package dev.streamrag.jobs.pieces;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * Logs each kind of warning at most once a minute, with how many of that kind were left out: a
 * flood of one problem (bad addresses) must neither flood the log nor hide another (Kafka down).
 */
final class Warnings {
  private static final long EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final Logger log;
  private final Map<String, long[]> byKind = new ConcurrentHashMap<>(); // kind → {last, skipped}

  Warnings(Logger log) {
    this.log = log;
  }

  void warn(String kind, String message) {
    long now = System.nanoTime();
    long[] state = byKind.computeIfAbsent(kind, k -> new long[] {now - EVERY_NANOS - 1, 0});
    long skipped;
    synchronized (state) {
      if (now - state[0] <= EVERY_NANOS) {
        state[1]++;
        return;
      }
      state[0] = now;
      skipped = state[1];
      state[1] = 0;
    }
    log.warn(
        "{}{}",
        message,
        skipped == 0 ? "" : " (" + skipped + " more of these in the last minute, not logged)");
  }
}
