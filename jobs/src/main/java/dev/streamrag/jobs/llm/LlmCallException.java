package dev.streamrag.jobs.llm;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

/**
 * Why one LLM attempt failed, with a stable code ({@code llm.http_503}, {@code llm.connection},
 * {@code llm.stream}, {@code llm.timeout}, ...) and whether another attempt may succeed. A 429 or
 * 503 may carry the server's {@code Retry-After}.
 */
public final class LlmCallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The connection could not be made (refused, or no connect within the connect timeout). */
  public static final String CONNECTION = "llm.connection";

  /** The stream broke off, ended early or carried an unreadable event. */
  public static final String STREAM = "llm.stream";

  /**
   * No first token within the first-token timeout, or no token within the idle timeout after it:
   * the attempt was cancelled (retryable, on another endpoint when there is one).
   */
  public static final String STREAM_IDLE = "llm.stream_idle";

  /** One attempt outlived the attempt timeout (retryable). */
  public static final String ATTEMPT_TIMEOUT = "llm.attempt_timeout";

  /** The request's deadline passed; the call is timed out. */
  public static final String TIMEOUT = "llm.timeout";

  /** A retry was due but the caller's retry budget was spent; the message holds the failure. */
  public static final String RETRY_BUDGET_EXHAUSTED = "llm.retry_budget_exhausted";

  /** Every endpoint's circuit breaker was open: the call failed fast, no request was sent. */
  public static final String CIRCUIT_OPEN = "llm.circuit_open";

  /**
   * Every endpoint had asked for a pause ({@code Retry-After}) lasting past the request's deadline
   * before any attempt of this call was made.
   */
  public static final String RETRY_AFTER = "llm.retry_after";

  /** The call was cancelled because its caller was closed (a task cancelled or failing over). */
  public static final String CANCELLED = "llm.cancelled";

  /** An unexpected failure in the client (a bug, not the server's doing): not retried. */
  public static final String CLIENT = "llm.client";

  private final String code;
  private final boolean retryable;
  private final Duration retryAfter;

  public LlmCallException(String code, String message, boolean retryable) {
    this(code, message, retryable, null);
  }

  /**
   * @param retryAfter how long the server asked to be left alone, or null if it did not say
   */
  public LlmCallException(String code, String message, boolean retryable, Duration retryAfter) {
    super(message);
    this.code = code;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
  }

  /** An error status from the server: 429 and 5xx may pass, other 4xx will not. */
  public static LlmCallException http(int status, String body) {
    return http(status, body, null);
  }

  /**
   * As {@link #http(int, String)}, with the wait a {@code Retry-After} header asked for (null for
   * none).
   */
  public static LlmCallException http(int status, String body, Duration retryAfter) {
    boolean retryable = status == 429 || status >= 500;
    String message = body == null || body.isBlank() ? "HTTP " + status : body.strip();
    if (message.length() > 500) {
      message = message.substring(0, 500) + "...";
    }
    return new LlmCallException("llm.http_" + status, message, retryable, retryAfter);
  }

  /**
   * The wait a {@code Retry-After} value asks for: delta-seconds ({@code 120}) or an HTTP-date
   * ({@code Wed, 21 Oct 2015 07:28:00 GMT}, RFC 9110's preferred form) relative to {@code now}. A
   * date in the past is a wait of zero; a value of neither form is null (ignored).
   */
  public static Duration parseRetryAfter(String value, Instant now) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String text = value.strip();
    if (text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      // Any wait past a day is as good as a day; callers cap it far lower anyway.
      return text.length() > 6
          ? Duration.ofDays(1)
          : Duration.ofSeconds(Math.min(Long.parseLong(text), Duration.ofDays(1).toSeconds()));
    }
    try {
      Instant at = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration wait = Duration.between(now, at);
      return wait.isNegative() ? Duration.ZERO : wait;
    } catch (DateTimeException e) {
      return null;
    }
  }

  public String code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }

  /** The wait the server's {@code Retry-After} asked for, uncapped; empty if it sent none. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /** The HTTP status of an {@code llm.http_NNN} failure, or 0 for other failures. */
  public int httpStatus() {
    if (!code.startsWith("llm.http_")) {
      return 0;
    }
    try {
      return Integer.parseInt(code.substring("llm.http_".length()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
