package dev.streamrag.llmsim.server;

/**
 * When one completion passed each point inside the server, on {@link System#nanoTime()}: body
 * received, handed to the engine, first token handed out by the engine, first and last token
 * written to the socket. Benchmarks use it to compare what the server did with what the latency
 * model scheduled for the same arrivals, and to see where front-end time goes.
 *
 * @param outputTokens tokens the engine produced (written ones may be fewer if the client left)
 */
public record CompletionTimeline(
    String id,
    long arrivedNanos,
    long submittedNanos,
    long firstEmittedNanos,
    long firstWriteNanos,
    long lastWriteNanos,
    int outputTokens) {

  /** Receives each finished completion's timeline, on an event-loop thread; must not block. */
  @FunctionalInterface
  public interface Observer {
    void onFinished(CompletionTimeline timeline);
  }
}
