package dev.streamrag.llmsim.engine;

import java.util.ArrayList;
import java.util.List;

/** A request's state inside the engine. */
final class Sequence {
  final SequenceRequest request;
  final long[] promptBlockHashes;
  final List<Integer> blocks = new ArrayList<>();

  /** Tokens whose KV is computed (prompt, then output). */
  int computed;

  /** Tokens to compute before the next token comes out: the prompt, or after preemption, more. */
  int prefillLength;

  int outputs;
  int registeredBlocks;
  int cachedPromptTokens;
  int preemptions;

  Sequence(SequenceRequest request, int blockSize) {
    this.request = request;
    this.prefillLength = request.promptTokens().length;
    this.promptBlockHashes = chainedBlockHashes(request.promptTokens(), blockSize);
  }

  boolean inPrefill() {
    return computed < prefillLength;
  }

  String id() {
    return request.id();
  }

  /** Hash of each full prompt block, chained with the one before: equal prefixes, equal hashes. */
  static long[] chainedBlockHashes(int[] tokens, int blockSize) {
    long[] hashes = new long[tokens.length / blockSize];
    long hash = 0x9E3779B97F4A7C15L;
    for (int block = 0; block < hashes.length; block++) {
      for (int i = block * blockSize; i < (block + 1) * blockSize; i++) {
        hash = (hash ^ tokens[i]) * 0x100000001B3L;
        hash ^= hash >>> 29;
      }
      hashes[block] = hash == 0 ? 1 : hash; // 0 means "no hash" in the block pool
    }
    return hashes;
  }
}
