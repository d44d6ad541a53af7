package dev.streamrag.jobs.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.schemas.ToolCall;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * Reads an OpenAI chat-completion event stream line by line ({@code data: {...}} events, ended by
 * {@code data: [DONE]}) and completes {@link #result()} with the assembled answer. It notes the
 * instant of the first non-empty content delta for TTFT. Usage comes from the final chunk that
 * {@code stream_options.include_usage} asks for; without it the content deltas are counted. Each
 * content delta is also handed to a {@link TextListener} as it arrives. Tool calls are assembled
 * from their deltas (name first, then argument text).
 */
final class SseChatParser implements Flow.Subscriber<String> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DATA = "data:";
  // More calls than any model makes in one answer: a stream naming index 10^9 is refused.
  private static final int MAX_TOOL_CALLS = 128;

  private final long sentNanos;
  private final TextListener listener;
  private final CompletableFuture<ChatCompletion> result = new CompletableFuture<>();
  private final StringBuilder text = new StringBuilder();
  private volatile Flow.Subscription subscription;
  private long firstTokenNanos;
  // When the last token arrived (0 before the first), read by the idle watch on another thread.
  private volatile long lastTokenNanos;
  private volatile int deltas;
  private String finishReason;
  private Integer promptTokens;
  private Integer completionTokens;
  private Integer cachedPromptTokens;
  private boolean done;
  // Tool calls as they stream: {id, name, arguments so far}, by index.
  private final List<String[]> toolCalls = new ArrayList<>();

  SseChatParser(long sentNanos, TextListener listener) {
    this.sentNanos = sentNanos;
    this.listener = listener;
  }

  CompletableFuture<ChatCompletion> result() {
    return result;
  }

  /** {@link System#nanoTime()} of the last content or tool-call delta; 0 before the first. */
  long lastTokenNanos() {
    return lastTokenNanos;
  }

  /** Content deltas received so far. */
  int tokensSoFar() {
    return deltas;
  }

  /** Stops reading: the connection is closed, so the server can abort the generation. */
  void cancel() {
    Flow.Subscription current = subscription;
    if (current != null) {
      current.cancel();
    }
  }

  @Override
  public void onSubscribe(Flow.Subscription subscription) {
    this.subscription = subscription;
    subscription.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(String line) {
    if (done || !line.startsWith(DATA)) {
      return; // blank separators, comments and other SSE fields carry nothing we need
    }
    String data = line.substring(DATA.length()).strip();
    if (data.equals("[DONE]")) {
      done = true;
      finish();
      return;
    }
    try {
      onChunk(JSON.readTree(data));
    } catch (IOException | RuntimeException e) {
      done = true;
      cancel();
      result.completeExceptionally(
          new LlmCallException("llm.stream", "unreadable stream event: " + e.getMessage(), true));
    }
  }

  private void onChunk(JsonNode chunk) {
    JsonNode error = chunk.get("error");
    if (error != null) {
      done = true;
      cancel();
      String message = error.path("message").asText(error.toString());
      int status = error.path("code").asInt(500);
      result.completeExceptionally(LlmCallException.http(status, message));
      return;
    }
    for (JsonNode choice : chunk.path("choices")) {
      JsonNode delta = choice.path("delta");
      String content = delta.path("content").asText("");
      if (!content.isEmpty()) {
        long now = System.nanoTime();
        if (firstTokenNanos == 0) {
          firstTokenNanos = now;
        }
        lastTokenNanos = now;
        deltas++;
        text.append(content);
        tell(content);
      }
      if (delta.has("tool_calls")) { // beside content or alone
        lastTokenNanos = System.nanoTime(); // a tool call's tokens are progress too
        for (JsonNode call : delta.get("tool_calls")) {
          toolCall(call);
        }
      }
      JsonNode reason = choice.get("finish_reason");
      if (reason != null && !reason.isNull()) {
        finishReason = reason.asText();
      }
    }
    JsonNode usage = chunk.get("usage");
    if (usage != null && !usage.isNull()) {
      promptTokens = usage.path("prompt_tokens").asInt();
      completionTokens = usage.path("completion_tokens").asInt();
      JsonNode cached = usage.path("prompt_tokens_details").get("cached_tokens");
      cachedPromptTokens = cached == null || cached.isNull() ? null : cached.asInt();
    }
  }

  /**
   * One tool call's delta: the first names it (index, id, function name), the next ones append
   * argument text, as OpenAI and vLLM stream them. Calls are told apart by index.
   */
  private void toolCall(JsonNode delta) {
    int index = delta.path("index").asInt(toolCalls.size());
    if (index < 0 || index > MAX_TOOL_CALLS) {
      throw new IllegalArgumentException("tool call index " + index + " out of range");
    }
    while (toolCalls.size() <= index) {
      toolCalls.add(new String[] {null, null, ""});
    }
    String[] call = toolCalls.get(index);
    if (delta.hasNonNull("id")) {
      call[0] = delta.get("id").asText();
    }
    JsonNode function = delta.path("function");
    if (function.hasNonNull("name")) {
      call[1] = (call[1] == null ? "" : call[1]) + function.get("name").asText();
    }
    if (function.hasNonNull("arguments")) {
      call[2] += function.get("arguments").asText();
    }
  }

  /**
   * A listener's failure is its own: the stream and its answer go on (the committed response still
   * carries the whole text). Listeners are not supposed to throw; the job's never do.
   */
  private void tell(String content) {
    try {
      listener.onText(content);
    } catch (RuntimeException e) {
      // the listener's loss only
    }
  }

  private void finish() {
    long end = System.nanoTime();
    if (finishReason == null) {
      result.completeExceptionally(
          new LlmCallException("llm.stream", "the stream ended without a finish reason", true));
      return;
    }
    List<ToolCall> calls = new ArrayList<>(toolCalls.size());
    for (int i = 0; i < toolCalls.size(); i++) {
      String[] call = toolCalls.get(i);
      if (call[1] == null) {
        result.completeExceptionally(
            new LlmCallException("llm.stream", "tool call " + i + " came without a name", true));
        return;
      }
      // A server that gives no id still gets its calls answered: the results name them by these.
      calls.add(new ToolCall(call[0] == null ? "call_" + i : call[0], call[1], call[2]));
    }
    result.complete(
        new ChatCompletion(
            text.toString(),
            finishReason,
            promptTokens == null ? 0 : promptTokens,
            completionTokens == null ? deltas : completionTokens,
            cachedPromptTokens,
            sentNanos,
            firstTokenNanos,
            end,
            calls));
  }

  @Override
  public void onError(Throwable error) {
    done = true;
    result.completeExceptionally(
        new LlmCallException(
            "llm.stream", "the stream broke off: " + StreamingChatClient.describe(error), true));
  }

  @Override
  public void onComplete() {
    if (!done) {
      done = true;
      result.completeExceptionally(
          new LlmCallException("llm.stream", "the stream ended before [DONE]", true));
    }
  }
}
