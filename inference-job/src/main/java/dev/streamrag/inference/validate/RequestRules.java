package dev.streamrag.inference.validate;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ReplyTo;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.RetrievalOptions;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;

/**
 * What a request must satisfy before any work is spent on it ({@code replyTopics}: the pieces
 * topics a request's replyTo may name). Each broken rule has a stable code ({@code validation.*})
 * and a message that names the field and the limit.
 */
public record RequestRules(
    List<String> knownModels,
    int contextWindow,
    int defaultMaxTokens,
    int maxPromptChars,
    int maxTopK,
    List<String> replyTopics)
    implements Serializable {

  /** A broken rule: how the request ends, and why. */
  public record Violation(ResponseStatus status, String code, String message) {}

  public RequestRules {
    if (knownModels == null || knownModels.isEmpty()) {
      throw new IllegalArgumentException("at least one model must be configured (llm.models)");
    }
    knownModels = List.copyOf(knownModels);
    replyTopics = replyTopics == null ? List.of() : List.copyOf(replyTopics);
  }

  public String defaultModel() {
    return knownModels.get(0);
  }

  /** The first broken rule, checked against the clock at {@code nowMillis}. */
  public Optional<Violation> check(InferenceRequest request, long deadlineMillis, long nowMillis) {
    if (request.getTenantId() == null || request.getTenantId().isBlank()) {
      return reject("validation.missing_tenant", "tenantId is required");
    }
    if (request.getKind() == RequestKind.AGENT) {
      return reject(
          "validation.unsupported_kind", "kind AGENT is not served yet; send CHAT or RAG");
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
