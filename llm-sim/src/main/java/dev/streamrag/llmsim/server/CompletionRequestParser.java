package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.text.AnswerComposer;
import dev.streamrag.llmsim.text.ApproximateTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Validates an OpenAI completion body as vLLM does, and works out what the simulator needs: the
 * prompt's tokens (the messages rendered through a simple chat template: a header of 4 tokens per
 * message plus 2 for the assistant's turn) and the text to answer from.
 */
final class CompletionRequestParser {
  private static final int TEMPLATE_TOKENS_PER_MESSAGE = 4;
  private static final int TEMPLATE_TOKENS_FOR_REPLY = 2;

  private final String servedModel;
  private final EngineProfile profile;

  CompletionRequestParser(String servedModel, EngineProfile profile) {
    this.servedModel = servedModel;
    this.profile = profile;
  }

  CompletionRequest parse(JsonNode body, boolean chat) throws ApiError {
    if (body == null || !body.isObject()) {
      throw ApiError.badRequest("request body must be a JSON object");
    }
    JsonNode model = body.get("model");
    if (model == null || !model.isTextual()) {
      throw ApiError.badRequest("'model' is required and must be a string");
    }
    if (!model.textValue().equals(servedModel)) {
      throw new ApiError(
          404, "NotFoundError", "The model `" + model.textValue() + "` does not exist.");
    }
    if (body.hasNonNull("n") && body.get("n").asInt(-1) != 1) {
      throw ApiError.badRequest("only n=1 is supported");
    }

    List<String> context = new ArrayList<>();
    String question;
    String lastRole = "user";
    StringBuilder rendered = new StringBuilder();
    int templateTokens;
    if (chat) {
      JsonNode messages = body.get("messages");
      if (messages == null || !messages.isArray() || messages.isEmpty()) {
        throw ApiError.badRequest("'messages' must be a non-empty array");
      }
      int lastUser = -1;
      List<String> contents = new ArrayList<>();
      for (int i = 0; i < messages.size(); i++) {
        JsonNode message = messages.get(i);
        String role = message.path("role").asText("");
        if (!List.of("system", "user", "assistant", "tool", "developer").contains(role)) {
          throw ApiError.badRequest(
              "messages[" + i + "].role must be system, user, assistant or tool");
        }
        String content = content(message.get("content"), i);
        contents.add(content);
        rendered.append(role).append('\n').append(content).append('\n');
        if (role.equals("user")) {
          lastUser = i;
        }
        lastRole = role;
      }
      if (lastUser < 0) {
        throw ApiError.badRequest("'messages' must contain a user message");
      }
      String[] split = AnswerComposer.splitLastUserMessage(contents.get(lastUser));
      question = split[1];
      for (int i = 0; i < contents.size(); i++) {
        context.add(i == lastUser ? split[0] : contents.get(i));
      }
      templateTokens = messages.size() * TEMPLATE_TOKENS_PER_MESSAGE + TEMPLATE_TOKENS_FOR_REPLY;
    } else {
      JsonNode prompt = body.get("prompt");
      if (prompt == null || !prompt.isTextual()) {
        throw ApiError.badRequest("'prompt' must be a string");
      }
      String[] split = AnswerComposer.splitLastUserMessage(prompt.textValue());
      context.add(split[0]);
      question = split[1];
      rendered.append(prompt.textValue());
      templateTokens = 0;
    }

    int[] textTokens = ApproximateTokenizer.encode(rendered.toString());
    int[] promptTokens = new int[Math.max(1, textTokens.length + templateTokens)];
    System.arraycopy(textTokens, 0, promptTokens, 0, textTokens.length);
    int room = profile.contextWindow() - promptTokens.length;
    if (room <= 0) {
      throw ApiError.badRequest(
          "This model's maximum context length is "
              + profile.contextWindow()
              + " tokens. However, your request has "
              + promptTokens.length
              + " input tokens. Please reduce the length of the input messages.");
    }
    // Chat clients may send OpenAI's newer max_completion_tokens; it wins over max_tokens.
    String maxField =
        chat && body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    int maxTokens = intField(body, maxField, room);
    if (maxTokens < 1) {
      throw ApiError.badRequest("max_tokens must be at least 1, got " + maxTokens);
    }
    if (promptTokens.length + maxTokens > profile.contextWindow()) {
      throw ApiError.badRequest(
          "This model's maximum context length is "
              + profile.contextWindow()
              + " tokens. However, you requested "
              + (promptTokens.length + maxTokens)
              + " tokens ("
              + promptTokens.length
              + " in the messages, "
              + maxTokens
              + " in the completion). Please reduce the length of the messages or completion.");
    }
    int minTokens = intField(body, "min_tokens", 0);
    if (minTokens < 0 || minTokens > maxTokens) {
      throw ApiError.badRequest("min_tokens must be between 0 and max_tokens, got " + minTokens);
    }
    // vLLM's ignore_eos: generate max_tokens whatever the answer, as its benchmarks do.
    if (body.path("ignore_eos").asBoolean(false)) {
      minTokens = maxTokens;
    }
    if (body.hasNonNull("temperature")
        && (!body.get("temperature").isNumber() || body.get("temperature").asDouble() < 0)) {
      throw ApiError.badRequest("temperature must be a non-negative number");
    }
    long seed = body.hasNonNull("seed") ? body.get("seed").asLong() : 0;
    boolean stream = body.path("stream").asBoolean(false);
    boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
    ToolCallRule.ToolCall toolCall = chat ? ToolCallRule.decide(body, question, lastRole) : null;
    // Questions about two named things get the several-step plan instead (after the rule above
    // has validated the tools).
    ToolPlan.Step plan = chat ? ToolPlan.decide(body, question) : null;
    String plannedAnswer = null;
    if (plan != null) {
      toolCall = plan.call();
      plannedAnswer = plan.answer();
    }
    ToolCallRule.ToolCall repeatableCall = chat ? RepeatedToolCall.candidate(body) : null;
    return new CompletionRequest(
        chat,
        servedModel,
        context,
        question,
        promptTokens,
        maxTokens,
        minTokens,
        seed,
        stream,
        includeUsage,
        toolCall,
        plannedAnswer,
        repeatableCall);
  }

  private static String content(JsonNode content, int index) throws ApiError {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.textValue();
    }
    if (content.isArray()) {
      StringBuilder text = new StringBuilder();
      for (JsonNode part : content) {
        if (part.path("type").asText().equals("text")) {
          text.append(part.path("text").asText());
        }
      }
      return text.toString();
    }
    throw ApiError.badRequest(
        "messages[" + index + "].content must be a string or an array of parts");
  }

  private static int intField(JsonNode body, String name, int fallback) throws ApiError {
    JsonNode value = body.get(name);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw ApiError.badRequest(name + " must be an integer");
    }
    return value.intValue();
  }
}
