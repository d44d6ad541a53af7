package dev.streamrag.gateway.exchange;

/**
 * The connection to one HTTP client, as far as writing an answer to it goes. The production
 * implementation wraps a Vert.x response ({@link HttpClientResponse}); tests use a recording one.
 * Called on the exchange's event loop only.
 */
public interface ClientChannel {
  /** Whether the connection's outbound queue is full: more writes would only pile up in memory. */
  boolean writeQueueFull();

  /** Calls {@code onDrain} once the outbound queue has room again. */
  void drainHandler(Runnable onDrain);

  void write(String data);

  /** Writes {@code data} (may be empty) and ends the response. */
  void end(String data);

  /** Drops the connection without finishing the response. */
  void abort();
}
