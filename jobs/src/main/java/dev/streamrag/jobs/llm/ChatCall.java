package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ChatMessage;
import java.util.List;
import java.util.Objects;

/**
 * One chat completion to ask an OpenAI-compatible server for. Optional parameters are null to leave
 * them to the server's defaults. {@code ignoreEos} asks for {@code maxTokens} tokens whatever the
 * answer (vLLM's and llm-sim's {@code ignore_eos}), for benchmarks that need answers of a length.
 * {@code tools} are offered to the model, which may then answer with tool calls instead of text.
 */
public record ChatCall(
    String model,
    List<ChatMessage> messages,
    Integer maxTokens,
    Double temperature,
    Double topP,
    Long seed,
    List<String> stop,
    boolean ignoreEos,
    List<ToolDefinition> tools) {
  public ChatCall {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(messages, "messages");
    stop = stop == null ? List.of() : stop;
    tools = tools == null ? List.of() : List.copyOf(tools);
  }

  /** A call that offers the model no tools. */
  public ChatCall(
      String model,
      List<ChatMessage> messages,
      Integer maxTokens,
      Double temperature,
      Double topP,
      Long seed,
      List<String> stop,
      boolean ignoreEos) {
    this(model, messages, maxTokens, temperature, topP, seed, stop, ignoreEos, List.of());
  }

  /** A call that stops where the model stops. */
  public ChatCall(
      String model,
      List<ChatMessage> messages,
      Integer maxTokens,
      Double temperature,
      Double topP,
      Long seed,
      List<String> stop) {
    this(model, messages, maxTokens, temperature, topP, seed, stop, false);
  }
}
