package dev.streamrag.jobs.llm;

/**
 * How an LLM call ended after routing and retries: with a completion, or with the last attempt's
 * failure. Never an exception, so that every request can be answered with a status.
 *
 * @param completion the answer, or null on failure
 * @param failure why the last attempt failed, or null on success
 * @param timedOut the request's deadline passed before an answer came
 * @param endpoint the base URL of the last attempt (null if none was made)
 * @param retries failed attempts before the last one
 * @param llmMillis the whole call, every attempt and backoff included
 */
public record LlmOutcome(
    ChatCompletion completion,
    LlmCallException failure,
    boolean timedOut,
    String endpoint,
    int retries,
    double llmMillis) {

  public boolean ok() {
    return completion != null;
  }

  /**
   * The call was cancelled by {@link RoutedChatCaller#close()} (failure code {@link
   * LlmCallException#CANCELLED}); its answer, if any, is for nobody.
   */
  public boolean cancelled() {
    return failure != null && LlmCallException.CANCELLED.equals(failure.code());
  }
}
