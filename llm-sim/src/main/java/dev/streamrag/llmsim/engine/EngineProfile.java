package dev.streamrag.llmsim.engine;

/**
 * The parameters of one simulated model on one accelerator: vLLM's scheduler limits and a cost
 * model for one engine step.
 *
 * <p>A step processes, in one forward pass, the prompt chunks of sequences still in prefill and one
 * token for each sequence in decode. Its duration is {@code stepBaseMicros + prefillTokens *
 * prefillMicrosPerToken + decodeSequences * decodeMicrosPerSequence + contextTokens *
 * attentionMicrosPerContextToken}: a fixed launch cost, compute that grows with the prompt tokens
 * processed, per-sequence work that makes a bigger batch slower per step (but faster per token
 * overall), and attention reads that grow with the context held by the batch.
 *
 * @param maxNumSeqs most sequences running at once (vLLM {@code --max-num-seqs})
 * @param maxNumBatchedTokens token budget of one step (vLLM {@code --max-num-batched-tokens}); long
 *     prompts are prefilled in chunks of at most this
 * @param kvBlocks KV-cache capacity in blocks
 * @param blockSize tokens per KV block (vLLM's default is 16)
 * @param contextWindow most tokens (prompt + output) of one sequence
 * @param prefixCaching whether full prompt blocks are cached and reused across requests
 */
public record EngineProfile(
    String name,
    int maxNumSeqs,
    int maxNumBatchedTokens,
    int kvBlocks,
    int blockSize,
    int contextWindow,
    boolean prefixCaching,
    double stepBaseMicros,
    double prefillMicrosPerToken,
    double decodeMicrosPerSequence,
    double attentionMicrosPerContextToken) {

  public EngineProfile {
    positive("maxNumSeqs", maxNumSeqs);
    positive("maxNumBatchedTokens", maxNumBatchedTokens);
    positive("kvBlocks", kvBlocks);
    positive("blockSize", blockSize);
    positive("contextWindow", contextWindow);
    notNegative("stepBaseMicros", stepBaseMicros);
    notNegative("prefillMicrosPerToken", prefillMicrosPerToken);
    notNegative("decodeMicrosPerSequence", decodeMicrosPerSequence);
    notNegative("attentionMicrosPerContextToken", attentionMicrosPerContextToken);
    if ((long) kvBlocks * blockSize < contextWindow) {
      throw new IllegalArgumentException(
          "KV cache of "
              + kvBlocks
              + " blocks x "
              + blockSize
              + " tokens cannot hold one full context of "
              + contextWindow
              + " tokens");
    }
  }

  /**
   * Throws {@link IllegalArgumentException} if a request can never fit the context window (a server
   * answers that with HTTP 400).
   */
  void checkFits(SequenceRequest request) {
    int prompt = request.promptTokens().length;
    if (prompt + request.outputTokens() > contextWindow) {
      throw new IllegalArgumentException(
          "prompt ("
              + prompt
              + ") plus output ("
              + request.outputTokens()
              + ") tokens exceed the context window of "
              + contextWindow);
    }
  }

  /** Blocks needed to hold {@code tokens} tokens. */
  int blocksFor(int tokens) {
    return (tokens + blockSize - 1) / blockSize;
  }

  private static void positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  private static void notNegative(String name, double value) {
    if (value < 0 || Double.isNaN(value)) {
      throw new IllegalArgumentException(name + " must not be negative, got " + value);
    }
  }
}
