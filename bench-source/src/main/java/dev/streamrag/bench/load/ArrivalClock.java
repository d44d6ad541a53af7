package dev.streamrag.bench.load;

import java.time.Instant;

/**
 * One source reader's clock over the run's {@link Schedule}: when the next request is due, and the
 * intended send time stamped on request {@code i}. The rate limiter waits for {@link #nextDueNanos}
 * and the generator calls {@link #take} for the request it builds, so both follow one cursor.
 *
 * <p>The clock is anchored on the first request it emits: that request is due now. After a restore
 * from a checkpoint the reader resumes at request {@code k}, and the anchor makes {@code k} due at
 * once rather than sending everything between the run's original start and now in a burst.
 */
final class ArrivalClock {
  private final Schedule schedule;
  private boolean anchored;
  private long anchorNanos;
  private long anchorEpochMicros;
  private long nextIndex = -1;

  ArrivalClock(Schedule schedule) {
    this.schedule = schedule;
  }

  Schedule schedule() {
    return schedule;
  }

  /** System.nanoTime() at which the next request is due; now if unknown. */
  long nextDueNanos() {
    if (!anchored || nextIndex < 0 || nextIndex >= schedule.size()) {
      return System.nanoTime();
    }
    return anchorNanos + schedule.offsetsNanos()[(int) nextIndex];
  }

  /** Request {@code index} is being emitted: its intended send time. */
  Instant take(long index) {
    long offset = schedule.offsetsNanos()[(int) index];
    if (!anchored) {
      anchored = true;
      anchorNanos = System.nanoTime() - offset;
      Instant now = Instant.now();
      anchorEpochMicros =
          now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000 - offset / 1_000;
    }
    nextIndex = index + 1;
    long micros = anchorEpochMicros + offset / 1_000;
    return Instant.ofEpochSecond(
        Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000);
  }
}
