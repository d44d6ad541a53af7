package dev.streamrag.jobs.llm;

/**
 * Why one LLM attempt failed, with a stable code ({@code llm.http_503}, {@code llm.connection},
 * {@code llm.stream}, {@code llm.timeout}, ...) and whether another attempt may succeed.
 */
public final class LlmCallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String code;
  private final boolean retryable;

  public LlmCallException(String code, String message, boolean retryable) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }

  /** An error status from the server: 429 and 5xx may pass, other 4xx will not. */
  public static LlmCallException http(int status, String body) {
    boolean retryable = status == 429 || status >= 500;
    String message = body == null || body.isBlank() ? "HTTP " + status : body.strip();
    if (message.length() > 500) {
      message = message.substring(0, 500) + "...";
    }
    return new LlmCallException("llm.http_" + status, message, retryable);
  }

  public String code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }
}
