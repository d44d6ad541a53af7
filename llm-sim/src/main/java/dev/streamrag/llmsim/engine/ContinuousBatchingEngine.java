package dev.streamrag.llmsim.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A model of vLLM's continuous-batching scheduler, on a clock the caller drives.
 *
 * <p>Each step: running sequences first, each gets its next prefill chunk or one decode token. Then
 * waiting requests are admitted in arrival order while there is room: fewer than {@code maxNumSeqs}
 * running, token budget left in the step, and KV blocks for their prompt (minus blocks found in the
 * prefix cache). A sequence that needs a block when none is free preempts the most recently
 * admitted one, which loses its KV and is recomputed later (vLLM's recompute preemption). The
 * step's duration comes from {@link EngineProfile}; tokens leave at its end.
 *
 * <p>Callers alternate {@link #schedule()} and {@link #complete}: a real-time server sleeps for the
 * step's duration in between, and a simulation just advances its clock. Not thread-safe: one driver
 * thread owns an engine.
 */
public final class ContinuousBatchingEngine {
  private final EngineProfile profile;
  private final BlockPool pool;
  private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
  private final List<Sequence> running = new ArrayList<>();
  private long prefixQueryTokens;
  private long prefixHitTokens;
  private long preemptions;
  private long aborted;

  public ContinuousBatchingEngine(EngineProfile profile) {
    this.profile = profile;
    this.pool = new BlockPool(profile.kvBlocks(), profile.prefixCaching());
  }

  /**
   * Queues a request. Throws {@link IllegalArgumentException} if it can never fit the context
   * window (a server answers that with HTTP 400 before calling this).
   */
  public void submit(SequenceRequest request) {
    profile.checkFits(request);
    waiting.add(new Sequence(request, profile.blockSize()));
  }

  /**
   * Drops a request that has not finished, as vLLM aborts one whose client disconnected: it leaves
   * the queue or the running batch and its KV-cache blocks are freed (prefix blocks it registered
   * stay cached for others). Returns false if the engine does not hold it (finished or unknown).
   */
  public boolean abort(String requestId) {
    for (Sequence sequence : running) {
      if (sequence.id().equals(requestId)) {
        running.remove(sequence);
        pool.release(sequence.blocks);
        sequence.blocks.clear();
        aborted++;
        return true;
      }
    }
    if (waiting.removeIf(sequence -> sequence.id().equals(requestId))) {
      aborted++;
      return true;
    }
    return false;
  }

  /** Requests dropped by {@link #abort} so far. */
  public long aborted() {
    return aborted;
  }

  public boolean hasWork() {
    return !waiting.isEmpty() || !running.isEmpty();
  }

  /** One scheduled piece of work: {@code tokens} prompt tokens, or 1 for a decode step. */
  record Slot(Sequence sequence, int tokens, boolean prefill) {}

  /** The batch of the next step and how long it takes. */
  public static final class Step {
    final List<Slot> slots;
    private final long durationMicros;
    private final int prefillTokens;
    private final int decodeSequences;

    Step(List<Slot> slots, long durationMicros, int prefillTokens, int decodeSequences) {
      this.slots = slots;
      this.durationMicros = durationMicros;
      this.prefillTokens = prefillTokens;
      this.decodeSequences = decodeSequences;
    }

    public long durationMicros() {
      return durationMicros;
    }

    public int prefillTokens() {
      return prefillTokens;
    }

    public int decodeSequences() {
      return decodeSequences;
    }

    public int batchSize() {
      return slots.size();
    }
  }

  /** Picks the next step's batch, or returns null when there is nothing to do. */
  public Step schedule() {
    int budget = profile.maxNumBatchedTokens();
    List<Slot> slots = new ArrayList<>();
    boolean preempted = false;

    for (int i = 0; i < running.size() && budget > 0; i++) {
      Sequence sequence = running.get(i);
      boolean prefill = sequence.inPrefill();
      int tokens = prefill ? Math.min(sequence.prefillLength - sequence.computed, budget) : 1;
      int needed =
          Math.max(0, profile.blocksFor(sequence.computed + tokens) - sequence.blocks.size());
      boolean preemptedItself = false;
      while (needed > pool.available() && !preemptedItself) {
        Sequence victim = running.get(running.size() - 1);
        preempt(victim);
        preempted = true;
        preemptedItself = victim == sequence;
      }
      if (preemptedItself) {
        break; // everything after it was preempted before it
      }
      sequence.blocks.addAll(pool.allocate(needed));
      slots.add(new Slot(sequence, tokens, prefill));
      budget -= tokens;
    }

    // Like vLLM, admit nothing new in a step that had to preempt.
    while (!preempted
        && !waiting.isEmpty()
        && running.size() < profile.maxNumSeqs()
        && budget > 0) {
      Sequence sequence = waiting.peek();
      if (!admit(sequence, budget, slots)) {
        break;
      }
      waiting.poll();
      budget -= slots.get(slots.size() - 1).tokens();
    }

    if (slots.isEmpty()) {
      return null;
    }
    int prefillTokens = 0;
    int decodeSequences = 0;
    long contextTokens = 0;
    for (Slot slot : slots) {
      if (slot.prefill()) {
        prefillTokens += slot.tokens();
      } else {
        decodeSequences++;
      }
      contextTokens += slot.sequence().computed + slot.tokens();
    }
    double micros =
        profile.stepBaseMicros()
            + prefillTokens * profile.prefillMicrosPerToken()
            + decodeSequences * profile.decodeMicrosPerSequence()
            + contextTokens * profile.attentionMicrosPerContextToken();
    return new Step(slots, Math.max(1, Math.round(micros)), prefillTokens, decodeSequences);
  }

  private boolean admit(Sequence sequence, int budget, List<Slot> slots) {
    int prefillLength = sequence.prefillLength;
    // At least one prompt token is always computed: the first output token comes from it.
    int cacheableBlocks =
        Math.min(sequence.promptBlockHashes.length, (prefillLength - 1) / profile.blockSize());
    long[] lookup = Arrays.copyOf(sequence.promptBlockHashes, cacheableBlocks);
    List<Integer> cached = pool.acquireCachedPrefix(lookup);
    int computed = cached.size() * profile.blockSize();
    int tokens = Math.min(prefillLength - computed, budget);
    List<Integer> fresh = pool.allocate(profile.blocksFor(computed + tokens) - cached.size());
    if (fresh == null) {
      pool.release(cached);
      return false; // KV cache full: the request keeps waiting
    }
    if (sequence.preemptions == 0) {
      prefixQueryTokens += sequence.request.promptTokens().length;
      prefixHitTokens += computed;
      sequence.cachedPromptTokens = computed;
    }
    sequence.blocks.addAll(cached);
    sequence.blocks.addAll(fresh);
    sequence.computed = computed;
    sequence.registeredBlocks = cached.size();
    running.add(sequence);
    slots.add(new Slot(sequence, tokens, true));
    return true;
  }

  private void preempt(Sequence sequence) {
    running.remove(sequence);
    pool.release(sequence.blocks);
    sequence.blocks.clear();
    // Recompute preemption: the prompt and the tokens generated so far are prefilled again.
    sequence.prefillLength = sequence.request.promptTokens().length + sequence.outputs;
    sequence.computed = 0;
    sequence.registeredBlocks = 0;
    sequence.preemptions++;
    preemptions++;
    waiting.addFirst(sequence);
  }

  /** Applies a step that ended at {@code endMicros}; returns the tokens it produced. */
  public List<TokenEvent> complete(Step step, long endMicros) {
    List<TokenEvent> events = new ArrayList<>();
    for (Slot slot : step.slots) {
      Sequence sequence = slot.sequence();
      sequence.computed += slot.tokens();
      registerFullPromptBlocks(sequence);
      if (sequence.inPrefill()) {
        continue; // a chunk of a longer prompt: no token yet
      }
      int index = sequence.outputs++;
      boolean last = sequence.outputs >= sequence.request.outputTokens();
      events.add(new TokenEvent(sequence.id(), index, last, endMicros));
      if (last) {
        running.remove(sequence);
        pool.release(sequence.blocks);
        sequence.blocks.clear();
      }
    }
    return events;
  }

  private void registerFullPromptBlocks(Sequence sequence) {
    int promptTokensComputed = Math.min(sequence.computed, sequence.request.promptTokens().length);
    int fullBlocks =
        Math.min(promptTokensComputed / profile.blockSize(), sequence.promptBlockHashes.length);
    for (int block = sequence.registeredBlocks; block < fullBlocks; block++) {
      pool.register(sequence.blocks.get(block), sequence.promptBlockHashes[block]);
    }
    sequence.registeredBlocks = Math.max(sequence.registeredBlocks, fullBlocks);
  }

  public EngineProfile profile() {
    return profile;
  }

  /** vllm:num_requests_running. */
  public int running() {
    return running.size();
  }

  /** vllm:num_requests_waiting. */
  public int waiting() {
    return waiting.size();
  }

  /** vllm:kv_cache_usage_perc, 0..1. */
  public double kvCacheUsage() {
    return (double) pool.used() / pool.capacity();
  }

  /** vllm:prefix_cache_queries (tokens). */
  public long prefixQueryTokens() {
    return prefixQueryTokens;
  }

  /** vllm:prefix_cache_hits (tokens). */
  public long prefixHitTokens() {
    return prefixHitTokens;
  }

  /** vllm:num_preemptions. */
  public long preemptions() {
    return preemptions;
  }
}
