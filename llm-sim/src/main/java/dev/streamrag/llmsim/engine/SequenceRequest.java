package dev.streamrag.llmsim.engine;

import java.util.Objects;

/**
 * What the engine needs of one request: its prompt as token ids (for prefix-cache hashing) and how
 * many tokens it will generate (known in advance in a simulator: the answer text is chosen before
 * generation starts).
 */
public record SequenceRequest(String id, int[] promptTokens, int outputTokens) {
  public SequenceRequest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(promptTokens, "promptTokens");
    if (promptTokens.length == 0) {
      throw new IllegalArgumentException("prompt must have at least one token");
    }
    if (outputTokens <= 0) {
      throw new IllegalArgumentException("outputTokens must be positive, got " + outputTokens);
    }
  }
}
