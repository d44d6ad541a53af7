package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ChatMessage;
import java.util.List;
import java.util.Objects;

/**
 * One chat completion to ask an OpenAI-compatible server for. Optional parameters are null to leave
 * them to the server's defaults.
 */
public record ChatCall(
    String model,
    List<ChatMessage> messages,
    Integer maxTokens,
    Double temperature,
    Double topP,
    Long seed,
    List<String> stop) {
  public ChatCall {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(messages, "messages");
    stop = stop == null ? List.of() : stop;
  }
}
