package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.llmsim.text.AnswerComposer;
import java.util.Iterator;
import java.util.Set;

/**
 * Decides, deterministically, whether the simulated model calls a tool, so that an agent loop can
 * be tested against llm-sim.
 *
 * <p>Rule: with {@code tools} given and {@code tool_choice} not {@code "none"}, and the last
 * message not a tool result, the model calls one tool: the one {@code tool_choice} names, else the
 * tool whose name and description share the most words with the question ({@code "auto"}: only if
 * some word is shared; {@code "required"}: the first tool when none is). The arguments are a JSON
 * object setting the tool's first required string parameter (or its first string parameter) to the
 * question. After a {@code role: tool} message the model answers in text, from the tool's output
 * like from any other context.
 */
final class ToolCallRule {
  private ToolCallRule() {}

  /** The call to make: the tool's name and its arguments as a JSON string. */
  record ToolCall(String name, String arguments) {}

  /** The tool call for this request, or null for a text answer. */
  static ToolCall decide(JsonNode body, String question, String lastRole) throws ApiError {
    JsonNode tools = body.get("tools");
    if (tools == null || tools.isNull()) {
      return null;
    }
    if (!tools.isArray()) {
      throw ApiError.badRequest("'tools' must be an array");
    }
    for (int i = 0; i < tools.size(); i++) {
      if (!tools.get(i).path("function").path("name").isTextual()) {
        throw ApiError.badRequest("tools[" + i + "].function.name is required");
      }
    }
    JsonNode choice = body.get("tool_choice");
    String mode =
        choice == null || choice.isNull()
            ? "auto"
            : choice.isTextual() ? choice.textValue() : "named";
    if (!Set.of("auto", "none", "required", "named").contains(mode)) {
      throw ApiError.badRequest("tool_choice must be none, auto, required or a named function");
    }
    if (tools.isEmpty()) {
      if (mode.equals("required") || mode.equals("named")) {
        throw ApiError.badRequest("tool_choice needs at least one tool");
      }
      return null;
    }
    if (mode.equals("none") || "tool".equals(lastRole)) {
      return null;
    }
    JsonNode chosen = null;
    if (mode.equals("named")) {
      String name = choice.path("function").path("name").asText("");
      for (JsonNode tool : tools) {
        if (tool.path("function").path("name").asText().equals(name)) {
          chosen = tool;
        }
      }
      if (chosen == null) {
        throw ApiError.badRequest("tool_choice names '" + name + "', which is not in 'tools'");
      }
    } else {
      Set<String> questionWords = words(question);
      int best = 0;
      for (JsonNode tool : tools) {
        JsonNode function = tool.path("function");
        Set<String> toolWords =
            words(function.path("name").asText() + " " + function.path("description").asText());
        toolWords.retainAll(questionWords);
        if (toolWords.size() > best) {
          best = toolWords.size();
          chosen = tool;
        }
      }
      if (chosen == null && mode.equals("required")) {
        chosen = tools.get(0);
      }
      if (chosen == null) {
        return null;
      }
    }
    JsonNode function = chosen.path("function");
    ObjectNode arguments = JsonNodeFactory.instance.objectNode();
    String parameter = firstStringParameter(function.path("parameters"));
    if (parameter != null) {
      arguments.put(parameter, question);
    }
    return new ToolCall(function.path("name").asText(), arguments.toString());
  }

  private static String firstStringParameter(JsonNode parameters) {
    JsonNode properties = parameters.path("properties");
    for (JsonNode required : parameters.path("required")) {
      if (properties.path(required.asText()).path("type").asText().equals("string")) {
        return required.asText();
      }
    }
    Iterator<String> names = properties.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (properties.path(name).path("type").asText().equals("string")) {
        return name;
      }
    }
    return null;
  }

  /** The answer rule's content words, splitting snake_case and camelCase tool names too. */
  private static Set<String> words(String text) {
    return AnswerComposer.contentWords(
        text.replaceAll("([a-z])([A-Z])", "$1 $2").replace('_', ' '));
  }
}
