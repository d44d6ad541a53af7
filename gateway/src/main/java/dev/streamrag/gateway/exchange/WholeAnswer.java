package dev.streamrag.gateway.exchange;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import java.util.Objects;

/**
 * An answer the client receives whole ({@code stream: false}), assembled from pieces. Unlike a
 * stream, nothing has been shown to the client before the END, so a newer generation simply
 * replaces an older one, even when its text differs: the answer is the text of the generation whose
 * END arrived, as the {@link AnswerPiece} contract defines it. Within a generation, {@link
 * StreamedAnswer} applies the rules (replays, gaps). Not thread-safe.
 */
public final class WholeAnswer {
  private final String requestId;
  private StreamedAnswer generationAnswer;
  private long generation = Long.MIN_VALUE;
  private int stale;
  private int duplicates;
  private int late;
  private int restarts;

  public WholeAnswer(String requestId) {
    this.requestId = Objects.requireNonNull(requestId, "requestId");
    this.generationAnswer = new StreamedAnswer(requestId);
  }

  /** Applies {@code piece}; returns the END piece once the answer is complete, else null. */
  public AnswerPiece offer(AnswerPiece piece) {
    if (generationAnswer.finished()) {
      late++;
      return null;
    }
    if (piece.getGeneration() < generation) {
      stale++;
      return null;
    }
    if (piece.getGeneration() > generation) {
      if (generation != Long.MIN_VALUE) {
        restarts++;
        duplicates += generationAnswer.duplicates();
        generationAnswer = new StreamedAnswer(requestId);
      }
      generation = piece.getGeneration();
    }
    return generationAnswer.offer(piece).end();
  }

  /** The answer's text; complete once {@link #offer} returned the END. */
  public String text() {
    return generationAnswer.text();
  }

  /** The HEAD of the generation that answers, or null. */
  public AnswerPiece head() {
    return generationAnswer.head();
  }

  public int stale() {
    return stale;
  }

  public int duplicates() {
    return duplicates + generationAnswer.duplicates();
  }

  public int late() {
    return late;
  }

  public int restarts() {
    return restarts;
  }
}
