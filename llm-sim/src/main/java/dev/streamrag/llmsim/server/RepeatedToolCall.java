package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The call a model stuck in a loop makes: the {@code tool_repeat} fault ({@link
 * FaultPlan#toolRepeat()}). Instead of answering from a tool's result, the model calls the same
 * tool again with exactly the same arguments as its most recent call. Every step looks like
 * progress to a naive agent loop, which then never ends; the client has to notice the repetition or
 * cap its steps.
 *
 * <p>A request qualifies when its last message is a tool result ({@code role: tool}), an earlier
 * assistant message holds a tool call, the request offers tools and {@code tool_choice} is not
 * {@code "none"}, and the tool called is still among those offered. The call repeated is the last
 * one of the most recent assistant message that has {@code tool_calls}.
 */
final class RepeatedToolCall {
  private RepeatedToolCall() {}

  /**
   * The call to repeat for this (validated) chat body, or null when the request does not qualify.
   */
  static ToolCallRule.ToolCall candidate(JsonNode body) {
    JsonNode messages = body.path("messages");
    if (messages.isEmpty()
        || !messages.get(messages.size() - 1).path("role").asText().equals("tool")) {
      return null;
    }
    JsonNode tools = body.path("tools");
    JsonNode choice = body.path("tool_choice");
    if (!tools.isArray()
        || tools.isEmpty()
        || (choice.isTextual() && choice.textValue().equals("none"))) {
      return null;
    }
    for (int i = messages.size() - 2; i >= 0; i--) {
      JsonNode message = messages.get(i);
      JsonNode calls = message.path("tool_calls");
      if (!message.path("role").asText().equals("assistant")
          || !calls.isArray()
          || calls.isEmpty()) {
        continue;
      }
      JsonNode function = calls.get(calls.size() - 1).path("function");
      String name = function.path("name").asText("");
      return offered(tools, name) ? new ToolCallRule.ToolCall(name, arguments(function)) : null;
    }
    return null;
  }

  /** The arguments as the client sent them back: OpenAI's string, byte for byte. */
  private static String arguments(JsonNode function) {
    JsonNode arguments = function.path("arguments");
    if (arguments.isTextual()) {
      return arguments.textValue();
    }
    // Some clients send the object itself; its JSON text is the closest to "the same".
    return arguments.isMissingNode() || arguments.isNull() ? "{}" : arguments.toString();
  }

  private static boolean offered(JsonNode tools, String name) {
    for (JsonNode tool : tools) {
      if (tool.path("function").path("name").asText().equals(name)) {
        return true;
      }
    }
    return false;
  }
}
