package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ToolCall;
import java.util.List;

/**
 * A streamed answer and its timing, as one attempt received it.
 *
 * @param cachedPromptTokens prompt tokens the server served from its prefix cache, if it says
 * @param sentNanos {@link System#nanoTime()} when the request was sent
 * @param firstTokenNanos when the first generated text arrived (0 if none did)
 * @param endNanos when the stream ended
 * @param toolCalls the tool calls the model asked for instead of (or besides) text, in its order
 */
public record ChatCompletion(
    String text,
    String finishReason,
    int promptTokens,
    int completionTokens,
    Integer cachedPromptTokens,
    long sentNanos,
    long firstTokenNanos,
    long endNanos,
    List<ToolCall> toolCalls) {

  public ChatCompletion {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }

  /** An answer in text, with no tool calls. */
  public ChatCompletion(
      String text,
      String finishReason,
      int promptTokens,
      int completionTokens,
      Integer cachedPromptTokens,
      long sentNanos,
      long firstTokenNanos,
      long endNanos) {
    this(
        text,
        finishReason,
        promptTokens,
        completionTokens,
        cachedPromptTokens,
        sentNanos,
        firstTokenNanos,
        endNanos,
        List.of());
  }

  /** Time to first token in ms; the whole call when no text came. */
  public double ttftMillis() {
    return ((firstTokenNanos == 0 ? endNanos : firstTokenNanos) - sentNanos) / 1e6;
  }

  /** Time per output token after the first, in ms; null for fewer than two tokens. */
  public Double tpotMillis() {
    if (completionTokens < 2 || firstTokenNanos == 0) {
      return null;
    }
    return (endNanos - firstTokenNanos) / 1e6 / (completionTokens - 1);
  }
}
