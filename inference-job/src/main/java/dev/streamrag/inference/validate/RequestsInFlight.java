package dev.streamrag.inference.validate;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The requestIds this subtask has admitted whose deadlines have not passed: a second request with
 * the same id meanwhile is a duplicate (a client or producer retry), and answering it too would put
 * two answers, and two interleaved piece streams, under one id.
 *
 * <p>Per subtask and in memory, on purpose. Requests are keyed by requestId on Kafka, so copies of
 * one id reach the same subtask. Not checkpointed: after a restore the records since the checkpoint
 * are replayed and must be admitted again, which an empty set does; a restored set would reject
 * them as duplicates of themselves. Bounded: past {@code capacity} ids the oldest admitted is
 * forgotten, so a flood of unique ids costs memory, not correctness of the others.
 */
final class RequestsInFlight {
  private final int capacity;
  private final LinkedHashMap<String, Long> deadlines;

  RequestsInFlight(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
    this.deadlines = new LinkedHashMap<>();
  }

  /**
   * Admits {@code requestId} until {@code deadlineMillis}; false if it is already in flight (then
   * nothing changes: the first one keeps its place).
   */
  boolean admit(String requestId, long deadlineMillis, long nowMillis) {
    forgetExpired(nowMillis);
    Long deadline = deadlines.get(requestId);
    if (deadline != null && deadline > nowMillis) {
      return false;
    }
    deadlines.remove(requestId);
    deadlines.put(requestId, deadlineMillis);
    if (deadlines.size() > capacity) {
      Iterator<Map.Entry<String, Long>> oldest = deadlines.entrySet().iterator();
      oldest.next();
      oldest.remove();
    }
    return true;
  }

  /** Whether {@code requestId} was admitted and its deadline has not passed. */
  boolean contains(String requestId, long nowMillis) {
    Long deadline = deadlines.get(requestId);
    return deadline != null && deadline > nowMillis;
  }

  int size() {
    return deadlines.size();
  }

  /**
   * Drops expired ids from the oldest end, a few per call: deadlines are mostly in admission order,
   * and the bound keeps the rest in check.
   */
  private void forgetExpired(long nowMillis) {
    Iterator<Map.Entry<String, Long>> entries = deadlines.entrySet().iterator();
    for (int i = 0; i < 8 && entries.hasNext(); i++) {
      if (entries.next().getValue() > nowMillis) {
        return;
      }
      entries.remove();
    }
  }
}
