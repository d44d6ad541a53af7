package dev.streamrag.jobs.pieces;

import java.util.HashMap;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * How many partitions each pieces topic has, as the producer's metadata says, looked up on first
 * use and again when older than {@code maxAgeNanos}. Only the publisher's sender thread uses it: a
 * lookup may block for the producer's {@code max.block.ms}, which no other thread may.
 */
final class PartitionCounts {
  /** What a lookup says about one partition. */
  enum Answer {
    EXISTS,
    MISSING,
    UNKNOWN
  }

  private final ToIntFunction<String> lookup;
  private final long maxAgeNanos;
  private final Map<String, long[]> counts = new HashMap<>(); // topic → {count, looked up at}

  PartitionCounts(ToIntFunction<String> lookup, long maxAgeNanos) {
    this.lookup = lookup;
    this.maxAgeNanos = maxAgeNanos;
  }

  Answer has(String topic, int partition) {
    long now = System.nanoTime();
    long[] known = counts.get(topic);
    // Partitions are only ever added: a partition known to exist needs no second look.
    if (known != null && partition >= 0 && partition < known[0]) {
      return Answer.EXISTS;
    }
    if (known == null || now - known[1] > maxAgeNanos) {
      try {
        known = new long[] {lookup.applyAsInt(topic), now};
        counts.put(topic, known);
      } catch (RuntimeException e) {
        return known == null ? Answer.UNKNOWN : answer(known, partition);
      }
    }
    return answer(known, partition);
  }

  private static Answer answer(long[] known, int partition) {
    return partition >= 0 && partition < known[0] ? Answer.EXISTS : Answer.MISSING;
  }
}
