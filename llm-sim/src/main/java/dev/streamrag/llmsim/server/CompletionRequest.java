package dev.streamrag.llmsim.server;

import java.util.List;

/**
 * A validated chat or text completion request.
 *
 * @param chat true for /v1/chat/completions, false for /v1/completions
 * @param contextTexts every text of the conversation except the question
 * @param question the text answered (last user message's last line, or the prompt)
 * @param promptTokens tokens of the whole prompt as the model would see it
 * @param maxTokens upper bound on generated tokens
 * @param minTokens generation continues at least this long (vLLM's min_tokens)
 * @param toolCall the tool the model calls instead of answering ({@link ToolCallRule}, {@link
 *     ToolPlan}), or null
 * @param plannedAnswer the answer a finished {@link ToolPlan} gives, or null
 * @param repeatableCall the call the {@code tool_repeat} fault would repeat ({@link
 *     RepeatedToolCall}), or null when this request does not qualify
 */
record CompletionRequest(
    boolean chat,
    String model,
    List<String> contextTexts,
    String question,
    int[] promptTokens,
    int maxTokens,
    int minTokens,
    long seed,
    boolean stream,
    boolean includeUsage,
    ToolCallRule.ToolCall toolCall,
    String plannedAnswer,
    ToolCallRule.ToolCall repeatableCall) {

  /** This request as the {@code tool_repeat} fault answers it: the repeatable call, no text. */
  CompletionRequest repeatingToolCall() {
    if (repeatableCall == null) {
      throw new IllegalStateException("no tool call to repeat");
    }
    return new CompletionRequest(
        chat,
        model,
        contextTexts,
        question,
        promptTokens,
        maxTokens,
        minTokens,
        seed,
        stream,
        includeUsage,
        repeatableCall,
        null,
        repeatableCall);
  }
}
