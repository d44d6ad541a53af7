package dev.streamrag.inference.validate;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ReplyTo;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.RetrievalOptions;
import dev.streamrag.schemas.ToolCall;
import dev.streamrag.schemas.ids.Identifiers;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;

/**
 * What a request must satisfy before any work is spent on it ({@code replyTopics}: the pieces
 * topics a request's replyTo may name; {@code indexes}: the retrieval indexes it may name). Besides
 * the request's own limits, it bounds what the request echoes into every output (tenant, trace id,
 * attributes), so that no response or latency record can outgrow Kafka's message limit. Each broken
 * rule has a stable code ({@code validation.*}) and a message that names the field and the limit.
 */
public record RequestRules(
    List<String> knownModels,
    int contextWindow,
    int defaultMaxTokens,
    int maxPromptChars,
    int maxTopK,
    List<String> replyTopics,
    List<String> indexes,
    boolean agentsServed)
    implements Serializable {

  /** Bounds of what a request echoes into every output, so no output outgrows Kafka's limits. */
  public static final int MAX_TRACE_ID_CHARS = 128;

  public static final int MAX_ATTRIBUTES = 64;
  public static final int MAX_ATTRIBUTE_KEY_CHARS = 128;
  public static final int MAX_ATTRIBUTE_VALUE_CHARS = 4096;
  public static final int MAX_ATTRIBUTES_CHARS = 64 * 1024;

  /** How far in the future a createdAt may lie: beyond it, the client's clock is wrong. */
  public static final long MAX_CLOCK_AHEAD_MILLIS = 60 * 60 * 1000L;

  /** A broken rule: how the request ends, and why. */
  public record Violation(ResponseStatus status, String code, String message) {}

  public RequestRules {
    if (knownModels == null || knownModels.isEmpty()) {
      throw new IllegalArgumentException("at least one model must be configured (llm.models)");
    }
    knownModels = List.copyOf(knownModels);
    replyTopics = replyTopics == null ? List.of() : List.copyOf(replyTopics);
    indexes = indexes == null ? List.of() : List.copyOf(indexes);
  }

  /** Bounds of an AGENT request's tools and of the tool calls its conversation may carry. */
  public static final int MAX_TOOLS = 64;

  public static final int MAX_TOOL_NAME_CHARS = 128;
  public static final int MAX_TOOL_CALLS_IN_MESSAGES = 256;

  private Optional<Violation> checkAgent(InferenceRequest request) {
    if (!agentsServed) {
      return reject(
          "validation.unsupported_kind",
          "kind AGENT is not served by this deployment (agent.enabled is false); send CHAT or RAG");
    }
    if (request.getTools().size() > MAX_TOOLS) {
      return reject(
          "validation.tools",
          "at most " + MAX_TOOLS + " tools may be named, got " + request.getTools().size());
    }
    for (String tool : request.getTools()) {
      if (tool == null || tool.isBlank() || tool.length() > MAX_TOOL_NAME_CHARS) {
        return reject(
            "validation.tools", "tool names must be 1 to " + MAX_TOOL_NAME_CHARS + " characters");
      }
    }
    return Optional.empty();
  }

  /** Tool calls in a conversation, of any kind: the LLM client sends them on as they are. */
  private static Optional<Violation> checkToolCalls(InferenceRequest request) {
    int calls = 0;
    for (ChatMessage message : request.getMessages()) {
      if (!message.getToolCalls().isEmpty() && message.getRole() != ChatRole.ASSISTANT) {
        return reject("validation.tool_calls", "only ASSISTANT messages may carry toolCalls");
      }
      for (ToolCall call : message.getToolCalls()) {
        if (call.getId().isBlank() || call.getName().isBlank()) {
          return reject("validation.tool_calls", "every tool call needs an id and a name");
        }
      }
      calls += message.getToolCalls().size();
    }
    if (calls > MAX_TOOL_CALLS_IN_MESSAGES) {
      return reject(
          "validation.tool_calls",
          "the messages carry " + calls + " tool calls, more than " + MAX_TOOL_CALLS_IN_MESSAGES);
    }
    return Optional.empty();
  }

  /** Violations of these codes are about fields echoed into outputs: they are not echoed back. */
  public static boolean aboutEchoedFields(String code) {
    return code.equals("validation.tenant_id")
        || code.equals("validation.trace_id")
        || code.equals("validation.attributes");
  }

  public String defaultModel() {
    return knownModels.get(0);
  }

  /** The first broken rule, checked against the clock at {@code nowMillis}. */
  public Optional<Violation> check(
      InferenceRequest request, long createdAtMillis, long deadlineMillis, long nowMillis) {
    if (request.getTenantId() == null || request.getTenantId().isBlank()) {
      return reject("validation.missing_tenant", "tenantId is required");
    }
    if (!Identifiers.validTenantId(request.getTenantId())) {
      return reject("validation.tenant_id", "tenantId must be " + Identifiers.TENANT_RULE);
    }
    if (request.getTraceId() != null && request.getTraceId().length() > MAX_TRACE_ID_CHARS) {
      return reject(
          "validation.trace_id", "traceId must be at most " + MAX_TRACE_ID_CHARS + " characters");
    }
    Optional<Violation> attributes = checkAttributes(request.getAttributes());
    if (attributes.isPresent()) {
      return attributes;
    }
    if (createdAtMillis > nowMillis + MAX_CLOCK_AHEAD_MILLIS) {
      return reject(
          "validation.created_at",
          "createdAt lies more than an hour in the future: the client's clock is wrong");
    }
    Optional<Violation> toolCalls = checkToolCalls(request);
    if (toolCalls.isPresent()) {
      return toolCalls;
    }
    if (request.getKind() == RequestKind.AGENT) {
      Optional<Violation> agent = checkAgent(request);
      if (agent.isPresent()) {
        return agent;
      }
    }
    String model = request.getModel() == null ? defaultModel() : request.getModel();
    if (!knownModels.contains(model)) {
      return reject(
          "validation.unknown_model",
          "model '" + model + "' is not served here; known models: " + knownModels);
    }
    if (request.getMessages().isEmpty()
        && (request.getPrompt() == null || request.getPrompt().isBlank())) {
      return reject("validation.empty", "either messages or prompt must be given");
    }
    int chars = request.getPrompt() == null ? 0 : request.getPrompt().length();
    for (ChatMessage message : request.getMessages()) {
      chars += message.getContent().length();
      for (ToolCall call : message.getToolCalls()) {
        chars += call.getName().length() + call.getArguments().length();
      }
    }
    if (chars > maxPromptChars) {
      return reject(
          "validation.prompt_too_long",
          "the messages hold " + chars + " characters, more than the limit of " + maxPromptChars);
    }
    Integer maxTokens = request.getMaxTokens();
    if (maxTokens != null && (maxTokens < 1 || maxTokens >= contextWindow)) {
      return reject(
          "validation.max_tokens",
          "maxTokens must be between 1 and " + (contextWindow - 1) + ", got " + maxTokens);
    }
    Double temperature = request.getTemperature();
    if (temperature != null && (temperature < 0 || temperature > 2 || temperature.isNaN())) {
      return reject("validation.temperature", "temperature must be in [0, 2], got " + temperature);
    }
    Double topP = request.getTopP();
    if (topP != null && (topP <= 0 || topP > 1 || topP.isNaN())) {
      return reject("validation.top_p", "topP must be in (0, 1], got " + topP);
    }
    ReplyTo reply = request.getReplyTo();
    if (reply != null && reply.getTopic() != null && !replyTopics.contains(reply.getTopic())) {
      return reject(
          "validation.reply_to",
          "replyTo.topic is not a pieces topic of this deployment; allowed: " + replyTopics);
    }
    if (reply != null && reply.getPartition() != null && reply.getPartition() < 0) {
      return reject(
          "validation.reply_to",
          "replyTo.partition must not be negative, got " + reply.getPartition());
    }
    if (request.getKind() == RequestKind.RAG) {
      Optional<Violation> retrieval = checkRetrieval(request);
      if (retrieval.isPresent()) {
        return retrieval;
      }
    }
    if (deadlineMillis <= nowMillis) {
      return Optional.of(
          new Violation(
              ResponseStatus.TIMEOUT,
              "validation.deadline_passed",
              "the deadline passed " + (nowMillis - deadlineMillis) + " ms before the job got it"));
    }
    return Optional.empty();
  }

  private static Optional<Violation> checkAttributes(java.util.Map<String, String> attributes) {
    if (attributes.size() > MAX_ATTRIBUTES) {
      return reject(
          "validation.attributes",
          "at most " + MAX_ATTRIBUTES + " attributes, got " + attributes.size());
    }
    long chars = 0;
    for (var entry : attributes.entrySet()) {
      if (entry.getKey().length() > MAX_ATTRIBUTE_KEY_CHARS
          || entry.getValue().length() > MAX_ATTRIBUTE_VALUE_CHARS) {
        return reject(
            "validation.attributes",
            "attribute keys are at most "
                + MAX_ATTRIBUTE_KEY_CHARS
                + " characters and values at most "
                + MAX_ATTRIBUTE_VALUE_CHARS);
      }
      chars += entry.getKey().length() + entry.getValue().length();
    }
    if (chars > MAX_ATTRIBUTES_CHARS) {
      return reject(
          "validation.attributes",
          "attributes hold " + chars + " characters, more than " + MAX_ATTRIBUTES_CHARS);
    }
    return Optional.empty();
  }

  private Optional<Violation> checkRetrieval(InferenceRequest request) {
    if (question(request) == null) {
      return reject(
          "validation.no_question", "a RAG request needs a user message or a prompt to answer");
    }
    RetrievalOptions retrieval = request.getRetrieval();
    if (retrieval == null) {
      return Optional.empty();
    }
    if (retrieval.getTopK() < 1 || retrieval.getTopK() > maxTopK) {
      return reject(
          "validation.top_k",
          "retrieval.topK must be between 1 and " + maxTopK + ", got " + retrieval.getTopK());
    }
    if (retrieval.getIndex() != null && !indexes.contains(retrieval.getIndex())) {
      return reject(
          "validation.index",
          "retrieval.index must be one of the indexes this deployment serves: " + indexes);
    }
    if (!retrieval.getFilters().isEmpty()) {
      return reject(
          "validation.filters_unsupported",
          "retrieval.filters is not supported yet: the chunk index has no metadata fields");
    }
    return Optional.empty();
  }

  /** The text a RAG request asks about: its last user message, else its prompt. */
  public static String question(InferenceRequest request) {
    List<ChatMessage> messages = request.getMessages();
    for (int i = messages.size() - 1; i >= 0; i--) {
      ChatMessage message = messages.get(i);
      if (message.getRole() == ChatRole.USER && !message.getContent().isBlank()) {
        return message.getContent();
      }
    }
    return request.getPrompt() == null || request.getPrompt().isBlank()
        ? null
        : request.getPrompt();
  }

  private static Optional<Violation> reject(String code, String message) {
    return Optional.of(new Violation(ResponseStatus.REJECTED, code, message));
  }
}
