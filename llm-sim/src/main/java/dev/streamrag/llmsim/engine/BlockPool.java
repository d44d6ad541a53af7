package dev.streamrag.llmsim.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The KV cache as vLLM manages it: a fixed number of blocks, each holding {@code blockSize} tokens
 * of one sequence. With prefix caching, a full prompt block is identified by a hash of its tokens
 * chained with the hash of the block before it. When its sequences finish, the block stays in the
 * cache and can serve a later request with the same prefix until it is evicted (least recently used
 * first) to make room.
 */
final class BlockPool {
  private final int capacity;
  private final boolean prefixCaching;

  /** Blocks nobody uses and no hash names: allocated first. */
  private final ArrayDeque<Integer> blank = new ArrayDeque<>();

  /** Unused blocks that still hold a cached prefix, least recently used first. */
  private final LinkedHashMap<Long, Integer> evictable = new LinkedHashMap<>();

  /** Every cached block by prefix hash, used or not. */
  private final Map<Long, Integer> cachedByHash = new HashMap<>();

  private final long[] hashOf;
  private final int[] refCount;
  private int used;

  BlockPool(int capacity, boolean prefixCaching) {
    this.capacity = capacity;
    this.prefixCaching = prefixCaching;
    this.hashOf = new long[capacity];
    this.refCount = new int[capacity];
    for (int block = 0; block < capacity; block++) {
      blank.add(block);
    }
  }

  /** Blocks in use by running sequences. */
  int used() {
    return used;
  }

  int capacity() {
    return capacity;
  }

  /** Blocks that an allocation could take now (blank or evictable). */
  int available() {
    return blank.size() + evictable.size();
  }

  /**
   * The longest run of cached blocks matching {@code prefixHashes} from the start. The blocks are
   * now held by the caller (their reference counts rise).
   */
  List<Integer> acquireCachedPrefix(long[] prefixHashes) {
    List<Integer> hits = new ArrayList<>();
    if (!prefixCaching) {
      return hits;
    }
    for (long hash : prefixHashes) {
      Integer block = cachedByHash.get(hash);
      if (block == null) {
        break;
      }
      hold(block, hash);
      hits.add(block);
    }
    return hits;
  }

  /** {@code count} fresh blocks, or null (and nothing taken) if there are not that many. */
  List<Integer> allocate(int count) {
    if (count > available()) {
      return null;
    }
    List<Integer> blocks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int block;
      if (!blank.isEmpty()) {
        block = blank.poll();
      } else {
        Iterator<Map.Entry<Long, Integer>> oldest = evictable.entrySet().iterator();
        Map.Entry<Long, Integer> evicted = oldest.next();
        oldest.remove();
        cachedByHash.remove(evicted.getKey());
        block = evicted.getValue();
      }
      hashOf[block] = 0;
      refCount[block] = 1;
      used++;
      blocks.add(block);
    }
    return blocks;
  }

  /** Records that {@code block} now holds the full prompt block named {@code hash}. */
  void register(int block, long hash) {
    if (prefixCaching && hash != 0 && !cachedByHash.containsKey(hash)) {
      hashOf[block] = hash;
      cachedByHash.put(hash, block);
    }
  }

  /** Gives blocks back; cached ones stay reusable until evicted. */
  void release(List<Integer> blocks) {
    for (int block : blocks) {
      if (--refCount[block] > 0) {
        continue;
      }
      used--;
      long hash = hashOf[block];
      if (hash != 0 && cachedByHash.get(hash) == block) {
        evictable.put(hash, block);
      } else {
        hashOf[block] = 0;
        blank.add(block);
      }
    }
  }

  private void hold(int block, long hash) {
    if (refCount[block]++ == 0) {
      evictable.remove(hash);
      used++;
    }
  }
}
