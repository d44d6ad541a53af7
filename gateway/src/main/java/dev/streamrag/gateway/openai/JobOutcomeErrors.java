package dev.streamrag.gateway.openai;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.ResponseStatus;
import java.util.Map;

/**
 * How the inference job's outcome (the END piece's status and error) reaches an OpenAI client:
 * REJECTED is the client's fault (400, or 404 for an unknown model), TIMEOUT is 504, ERROR is the
 * upstream's fault (502, or 503 when the job says a retry may succeed, which OpenAI clients retry).
 * The job's own code travels as the error's {@code code}, except where OpenAI has a name clients
 * already test for ({@code context_length_exceeded}, {@code model_not_found}).
 */
public final class JobOutcomeErrors {
  /** Request fields the job's validation codes are about, reported as the error's param. */
  private static final Map<String, String> PARAMS =
      Map.ofEntries(
          Map.entry("validation.prompt_too_long", "messages"),
          Map.entry("validation.empty", "messages"),
          Map.entry("validation.no_question", "messages"),
          Map.entry("validation.max_tokens", "max_tokens"),
          Map.entry("validation.temperature", "temperature"),
          Map.entry("validation.top_p", "top_p"),
          Map.entry("validation.top_k", "streamrag.retrieval.top_k"),
          Map.entry("validation.filters_unsupported", "streamrag.retrieval.filters"),
          Map.entry("validation.unsupported_kind", "streamrag.kind"),
          Map.entry("validation.unknown_model", "model"),
          Map.entry("validation.deadline_passed", "streamrag.timeout_ms"));

  private JobOutcomeErrors() {}

  /** The error for a non-OK END piece; null for an OK one. */
  public static ApiError of(AnswerPiece end) {
    ResponseStatus status = end.getStatus() == null ? ResponseStatus.ERROR : end.getStatus();
    if (status == ResponseStatus.OK) {
      return null;
    }
    ErrorDetail error = end.getError();
    String code = error == null ? null : error.getCode();
    String message =
        error == null || error.getMessage() == null || error.getMessage().isBlank()
            ? "The request ended with status " + status + "."
            : error.getMessage();
    return switch (status) {
      case REJECTED -> rejected(code, message);
      case TIMEOUT ->
          new ApiError(504, ApiError.SERVER_ERROR, code == null ? "timeout" : code, null, message);
      default -> {
        boolean retryable = error != null && error.getRetryable();
        yield new ApiError(
            retryable ? 503 : 502,
            ApiError.SERVER_ERROR,
            code == null ? "upstream_error" : code,
            null,
            message);
      }
    };
  }

  private static ApiError rejected(String code, String message) {
    if ("validation.prompt_too_long".equals(code)) {
      return new ApiError(
          400, ApiError.INVALID_REQUEST, "context_length_exceeded", "messages", message);
    }
    if ("validation.unknown_model".equals(code)) {
      return new ApiError(404, ApiError.INVALID_REQUEST, "model_not_found", "model", message);
    }
    return new ApiError(
        400, ApiError.INVALID_REQUEST, code, code == null ? null : PARAMS.get(code), message);
  }

  /**
   * The error that ends a stream whose newer generation contradicts text already sent: the client
   * cannot unsee it, so the answer on {@code rag.responses} is the record.
   */
  public static ApiError diverged() {
    return new ApiError(
        502,
        ApiError.SERVER_ERROR,
        "answer_diverged",
        null,
        "The answer was produced again after a failure and differs from the text already sent;"
            + " send the request again.");
  }
}
