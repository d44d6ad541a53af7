package dev.streamrag.jobs.llm;

import java.net.URI;

/**
 * Told of each attempt of a {@link RoutedChatCaller} call as it starts, so that a caller can stream
 * each attempt's text separately: an attempt after a failure starts the answer over.
 */
@FunctionalInterface
public interface AttemptListener {
  AttemptListener NONE = (attempt, endpoint) -> TextListener.NONE;

  /**
   * Attempt {@code attempt} (1 for the first) is about to be sent to {@code endpoint}; returns the
   * listener of its text.
   */
  TextListener attemptStarted(int attempt, URI endpoint);
}
