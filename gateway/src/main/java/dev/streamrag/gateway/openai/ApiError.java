package dev.streamrag.gateway.openai;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * An error as OpenAI's API answers it: an HTTP status and {@code {"error": {"message", "type",
 * "param", "code"}}}. OpenAI clients pick their exception type from the status (400 bad request,
 * 401 unauthorized, 404 not found, 429 rate limit, 5xx server error), so the status is the part
 * that must be right. Messages are fixed texts written for clients: never an exception's text, a
 * broker address or an upstream's body (those go to the log).
 *
 * <p>The official SDKs retry 408, 409, 429 and every 5xx by default unless the response says
 * otherwise in {@code x-should-retry}; {@link #retry()} says what this error tells them.
 *
 * @param param the request field at fault, or null
 * @param code a stable machine-readable code, or null
 */
public record ApiError(
    int status, String type, String code, String param, String message, Retry retry) {
  public static final String INVALID_REQUEST = "invalid_request_error";
  public static final String SERVER_ERROR = "server_error";
  public static final String RATE_LIMIT = "rate_limit_error";

  /** What an error tells the SDKs about retrying (the {@code x-should-retry} header). */
  public enum Retry {
    /** No header: the SDKs decide by status. */
    UNSAID,
    /** {@code x-should-retry: false}: the same request would fail the same way, or too late. */
    NEVER,
    /** {@code x-should-retry: true} and {@code retry-after: 1}: a moment later may succeed. */
    SOON
  }

  public ApiError {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("an error status is 4xx or 5xx, got " + status);
    }
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(retry, "retry");
  }

  /** An error that leaves retrying to the SDKs' defaults. */
  public ApiError(int status, String type, String code, String param, String message) {
    this(status, type, code, param, message, Retry.UNSAID);
  }

  /** 400: the request is malformed or a field is out of range. */
  public static ApiError invalidRequest(String param, String message) {
    return new ApiError(400, INVALID_REQUEST, null, param, message);
  }

  /** 401, without saying whether a key was missing or wrong beyond what the client sent. */
  public static ApiError invalidApiKey(String message) {
    return new ApiError(401, INVALID_REQUEST, "invalid_api_key", null, message);
  }

  /** 404 for a model the inference job does not serve. */
  public static ApiError modelNotFound(String model) {
    return new ApiError(
        404,
        INVALID_REQUEST,
        "model_not_found",
        "model",
        "The model `" + model + "` does not exist or you do not have access to it.");
  }

  /** 404 for a path the gateway does not serve. */
  public static ApiError noRoute() {
    return new ApiError(404, INVALID_REQUEST, "unknown_url", null, "Unknown URL.");
  }

  /** 405 for a method a path does not take. */
  public static ApiError methodNotAllowed() {
    return new ApiError(
        405,
        INVALID_REQUEST,
        "method_not_allowed",
        null,
        "This method is not allowed on this URL.");
  }

  /** 408: the body did not arrive in time. */
  public static ApiError bodyTimeout(long bodyTimeoutMillis) {
    return new ApiError(
        408,
        INVALID_REQUEST,
        "request_timeout",
        null,
        "The request body did not arrive within " + bodyTimeoutMillis + " ms.");
  }

  /** 413: the body is larger than the gateway reads. */
  public static ApiError bodyTooLarge(long maxBodyBytes) {
    return new ApiError(
        413,
        INVALID_REQUEST,
        "request_too_large",
        null,
        "The request body is larger than " + maxBodyBytes + " bytes.");
  }

  /** 413: the request, as the record the job reads, is larger than Kafka or the job take. */
  public static ApiError recordTooLarge(long maxRecordBytes) {
    return new ApiError(
        413,
        INVALID_REQUEST,
        "request_too_large",
        null,
        "The request is too large: it must fit in a " + maxRecordBytes + "-byte record.");
  }

  /** 429: this gateway instance holds as many open exchanges as it may. */
  public static ApiError tooManyStreams(int maxStreams) {
    return new ApiError(
        429,
        RATE_LIMIT,
        "rate_limit_exceeded",
        null,
        "This gateway is serving its maximum of " + maxStreams + " open requests; retry later.",
        Retry.SOON);
  }

  /** 503: Kafka (or this instance's reply partition) is not available; nothing was sent. */
  public static ApiError kafkaUnavailable() {
    return new ApiError(
        503,
        SERVER_ERROR,
        "service_unavailable",
        null,
        "The request queue is unavailable; retry shortly.",
        Retry.SOON);
  }

  /** 503: Kafka refused the request, which was not stored; {@code transientFailure}: retry. */
  public static ApiError kafkaRefused(boolean transientFailure) {
    return new ApiError(
        503,
        SERVER_ERROR,
        "service_unavailable",
        null,
        "The request could not be queued.",
        transientFailure ? Retry.SOON : Retry.NEVER);
  }

  /** 503: this gateway is shutting down and takes no new requests; another instance will. */
  public static ApiError shuttingDown() {
    return new ApiError(
        503,
        SERVER_ERROR,
        "service_unavailable",
        null,
        "This gateway is shutting down; retry.",
        Retry.SOON);
  }

  /**
   * 503: the gateway lost the stream of answer pieces (its consumer restarted, or it shut down
   * first); the answer may be incomplete, so the request should be sent again.
   */
  public static ApiError answerLost() {
    return new ApiError(
        503,
        SERVER_ERROR,
        "answer_lost",
        null,
        "The gateway lost the answer's stream; send the request again.",
        Retry.SOON);
  }

  /** 504: no answer came before the request's deadline; retrying the same request won't help. */
  public static ApiError deadlineExceeded(long timeoutMillis) {
    return new ApiError(
        504,
        SERVER_ERROR,
        "timeout",
        null,
        "No answer arrived within the request's timeout of " + timeoutMillis + " ms.",
        Retry.NEVER);
  }

  /** 500: a bug in the gateway; the details are in its log. */
  public static ApiError internal() {
    return new ApiError(
        500,
        SERVER_ERROR,
        "internal_error",
        null,
        "The gateway failed to handle the request.",
        Retry.NEVER);
  }

  /** The body OpenAI sends with this error. */
  public ObjectNode toJson() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", type);
    if (param == null) {
      error.putNull("param");
    } else {
      error.put("param", param);
    }
    if (code == null) {
      error.putNull("code");
    } else {
      error.put("code", code);
    }
    return root;
  }
}
