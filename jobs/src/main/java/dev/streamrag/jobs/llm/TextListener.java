package dev.streamrag.jobs.llm;

/**
 * Receives an LLM attempt's text as it streams, one content delta at a time, on the HTTP client's
 * thread, before the attempt completes. It must not block: it runs on the thread that reads every
 * stream.
 */
@FunctionalInterface
public interface TextListener {
  TextListener NONE = text -> {};

  /** The next non-empty content delta of the attempt's answer. */
  void onText(String text);
}
