package dev.streamrag.gateway.openai;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * An error as OpenAI's API answers it: an HTTP status and {@code {"error": {"message", "type",
 * "param", "code"}}}. OpenAI clients pick their exception type from the status (400 bad request,
 * 401 unauthorized, 404 not found, 429 rate limit, 5xx server error), so the status is the part
 * that must be right.
 *
 * @param param the request field at fault, or null
 * @param code a stable machine-readable code, or null
 */
public record ApiError(int status, String type, String code, String param, String message) {
  public static final String INVALID_REQUEST = "invalid_request_error";
  public static final String SERVER_ERROR = "server_error";

  public ApiError {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("an error status is 4xx or 5xx, got " + status);
    }
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(message, "message");
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
  public static ApiError noRoute(String method, String path) {
    return new ApiError(
        404, INVALID_REQUEST, "unknown_url", null, "Unknown URL: " + method + " " + path);
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

  /** 429: this gateway instance holds as many open exchanges as it may. */
  public static ApiError tooManyStreams(int maxStreams) {
    return new ApiError(
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
        null,
        "This gateway is serving its maximum of " + maxStreams + " open requests; retry later.");
  }

  /** 503: Kafka (or this instance's reply partition) cannot be reached; nothing was sent. */
  public static ApiError kafkaUnavailable(String why) {
    return new ApiError(
        503, SERVER_ERROR, "service_unavailable", null, "The request queue is unavailable: " + why);
  }

  /** 504: no answer came before the request's deadline. */
  public static ApiError deadlineExceeded(long timeoutMillis) {
    return new ApiError(
        504,
        SERVER_ERROR,
        "timeout",
        null,
        "No answer arrived within the request's timeout of " + timeoutMillis + " ms.");
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
