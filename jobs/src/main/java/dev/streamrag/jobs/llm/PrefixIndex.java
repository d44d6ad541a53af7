package dev.streamrag.jobs.llm;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which endpoints this router sent each prompt block to, as a guess of which servers hold it in
 * their prefix (KV) cache: a bounded map from a block's chained hash ({@link PrefixBlocks}) to a
 * bit set of endpoints, least recently used blocks forgotten first. It is the router's own history,
 * not the servers' state (vLLM evicts on its own), which is what vLLM's production-stack router and
 * llm-d's approximate prefix scorer also keep. Thread-safe.
 */
final class PrefixIndex {
  /** Endpoints a bit set can name. */
  static final int MAX_ENDPOINTS = 64;

  private final Map<Long, Long> owners;

  /**
   * @param capacity blocks remembered; 200k blocks of about 32 tokens is 6.4M tokens, more KV cache
   *     than a handful of servers hold, in about 20 MB per subtask
   */
  PrefixIndex(int capacity) {
    this.owners =
        new LinkedHashMap<>(1024, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
            return size() > capacity;
          }
        };
  }

  /**
   * For each endpoint, how many leading blocks of {@code blocks} it was sent: its share of the
   * prompt's prefix that it likely has cached.
   */
  synchronized int[] matched(long[] blocks, int endpoints) {
    int[] matched = new int[endpoints];
    long alive = endpoints == 64 ? -1L : (1L << endpoints) - 1;
    for (int i = 0; i < blocks.length && alive != 0; i++) {
      Long owners = this.owners.get(blocks[i]);
      alive &= owners == null ? 0 : owners;
      long bits = alive;
      while (bits != 0) {
        int endpoint = Long.numberOfTrailingZeros(bits);
        matched[endpoint] = i + 1;
        bits &= bits - 1;
      }
    }
    return matched;
  }

  /** Notes that {@code endpoint} was sent {@code blocks} (and now likely caches them). */
  synchronized void record(long[] blocks, int endpoint) {
    long bit = 1L << endpoint;
    // Last block first, so that the leading blocks end up most recently used: evicting them
    // first would break every chain that runs through them.
    for (int i = blocks.length - 1; i >= 0; i--) {
      long block = blocks[i];
      Long current = owners.get(block); // also marks it recently used
      if (current == null) {
        owners.put(block, bit);
      } else if ((current & bit) == 0) {
        owners.put(block, current | bit);
      }
    }
  }

  synchronized int size() {
    return owners.size();
  }
}
