package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;

/** Where an {@link AnswerStream} sends its pieces, and the timer its coalescing runs on. */
interface PieceSink {
  PieceSettings settings();

  void send(PieceDestination destination, AnswerPiece piece, PieceMetrics metrics);

  void schedule(Runnable task, long delayNanos);
}
