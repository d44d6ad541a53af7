package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;

/** Where an {@link AnswerStream} sends its pieces, and the timer its coalescing runs on. */
interface PieceSink {
  PieceSettings settings();

  /**
   * Hands one piece over for sending, in order, without blocking; {@code listener} hears if it is
   * lost.
   */
  void send(
      PieceDestination destination,
      AnswerPiece piece,
      PieceMetrics metrics,
      DeliveryListener listener);

  /** Runs {@code task} after {@code delayNanos} on a thread that never blocks on Kafka. */
  void schedule(Runnable task, long delayNanos);
}
