package dev.streamrag.gateway.openai;

import dev.streamrag.gateway.openai.ApiError.Retry;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.ResponseStatus;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How the inference job's outcome (the END piece's status and error) reaches an OpenAI client:
 * REJECTED is the client's fault (400, or 404 for an unknown model, or 429 over the tenant's
 * quota), TIMEOUT is 504, ERROR is the upstream's fault (502, or 503 when the job says a retry may
 * succeed).
 *
 * <p>The job's stable code travels as the error's {@code code}, except where OpenAI has a name
 * clients already test for ({@code context_length_exceeded}, {@code model_not_found}). The job's
 * message reaches the client only for REJECTED, whose validation messages are written for clients
 * (cut to {@value #MAX_REJECTED_MESSAGE_CHARS} characters); a TIMEOUT or ERROR message may hold an
 * upstream's error body or exception names, so the client gets a fixed text per code family ({@code
 * llm.*}, {@code retrieval.*}, …) and the gateway logs the job's text.
 *
 * <p>Retrying: a TIMEOUT and a non-retryable ERROR say {@code x-should-retry: false} (the SDKs
 * would otherwise retry every 5xx), a retryable ERROR says retry soon.
 */
public final class JobOutcomeErrors {
  public static final int MAX_REJECTED_MESSAGE_CHARS = 300;

  /** The job's code for a request over its tenant's rate or concurrency quota. */
  static final String QUOTA_EXCEEDED = "quota.exceeded";

  /** What a code must look like to be passed on; anything else is replaced. */
  private static final Pattern STABLE_CODE = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*");

  private static final int MAX_CODE_CHARS = 64;

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

  /** What failed, by the code's family (its part before the first dot). */
  private static final Map<String, String> FAMILIES =
      Map.of(
          "llm", "The language model",
          "retrieval", "Document retrieval",
          "embedding", "Embedding the question",
          "cache", "The response cache",
          "prompt", "Building the prompt",
          "validation", "The request",
          "internal", "The inference job");

  private JobOutcomeErrors() {}

  /** The error for a non-OK END piece; null for an OK one. */
  public static ApiError of(AnswerPiece end) {
    ResponseStatus status = end.getStatus() == null ? ResponseStatus.ERROR : end.getStatus();
    if (status == ResponseStatus.OK) {
      return null;
    }
    ErrorDetail error = end.getError();
    String code = stableCode(error == null ? null : error.getCode());
    return switch (status) {
      case REJECTED -> rejected(code, rejectedMessage(error, status));
      case TIMEOUT ->
          new ApiError(
              504,
              ApiError.SERVER_ERROR,
              code == null ? "timeout" : code,
              null,
              subject(code) + " did not finish before the deadline.",
              Retry.NEVER);
      default -> {
        boolean retryable = error != null && error.getRetryable();
        yield new ApiError(
            retryable ? 503 : 502,
            ApiError.SERVER_ERROR,
            code == null ? "upstream_error" : code,
            null,
            subject(code)
                + (retryable
                    ? " is unavailable at the moment; retry shortly."
                    : " failed to answer this request."),
            retryable ? Retry.SOON : Retry.NEVER);
      }
    };
  }

  private static ApiError rejected(String code, String message) {
    if (QUOTA_EXCEEDED.equals(code)) {
      // Over the tenant's rate or concurrency quota in the job: OpenAI clients back off on a 429.
      return new ApiError(429, ApiError.RATE_LIMIT, code, null, message, Retry.SOON);
    }
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

  private static String rejectedMessage(ErrorDetail error, ResponseStatus status) {
    String message = error == null ? null : error.getMessage();
    if (message == null || message.isBlank()) {
      return "The request was rejected (status " + status + ").";
    }
    return message.length() <= MAX_REJECTED_MESSAGE_CHARS
        ? message
        : message.substring(0, MAX_REJECTED_MESSAGE_CHARS - 1) + "…";
  }

  /** The job's code if it looks like one of its stable codes, else null. */
  static String stableCode(String code) {
    if (code == null || code.length() > MAX_CODE_CHARS || !STABLE_CODE.matcher(code).matches()) {
      return null;
    }
    return code;
  }

  private static String subject(String code) {
    if (code == null) {
      return "The inference job";
    }
    int dot = code.indexOf('.');
    return FAMILIES.getOrDefault(dot < 0 ? code : code.substring(0, dot), "The inference job");
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
            + " send the request again.",
        Retry.NEVER);
  }
}
