package dev.streamrag.gateway.openai;

import dev.streamrag.schemas.InferenceRequest;
import java.util.Objects;

/**
 * A chat completion request as the gateway serves it: the {@link InferenceRequest} it produces to
 * Kafka, plus what only the HTTP side needs (how to answer: streamed or whole, with usage or not).
 *
 * @param model the model name the client asked for, echoed in every response
 * @param timeoutMillis how long the client waits, from the request's createdAt to its deadline
 */
public record ChatRequest(
    InferenceRequest request,
    String model,
    boolean stream,
    boolean includeUsage,
    long timeoutMillis) {
  public ChatRequest {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(model, "model");
  }

  public String requestId() {
    return request.getRequestId();
  }

  public long createdAtMillis() {
    return request.getCreatedAt().toEpochMilli();
  }

  public long deadlineMillis() {
    return request.getDeadline().toEpochMilli();
  }
}
