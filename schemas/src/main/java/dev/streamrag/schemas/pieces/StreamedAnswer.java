package dev.streamrag.schemas.pieces;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ResponseStatus;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One answer as a consumer of the pieces topic assembles it, by the {@link AnswerPiece} contract:
 * stale generations and replayed sequence numbers are dropped, pieces after a gap are held until it
 * fills, and a newer generation (the answer produced again after a retry or a failover) takes over.
 *
 * <p>Text, once released to the caller, is never taken back, because a streaming client (an SSE
 * connection, a terminal) cannot unsay it. A newer generation therefore releases text only past
 * what was released, and only while it agrees with it; a deterministic model (temperature 0 or a
 * seed) regenerates the same text, so a failover is invisible. If the newer generation says
 * something else, the answer is {@link #diverged()}: the caller ends its stream with an error and
 * the committed response on {@code rag.responses} is the record.
 *
 * <p>An END that is not OK (a timeout, an error, possibly in a newer generation that has no text)
 * ends the answer whatever part of it was released: the client shows what it got and the failure.
 * Once the END piece is released the answer is final; later pieces are counted as {@link #late()}.
 * Not thread-safe: feed one instance from one thread.
 */
public final class StreamedAnswer {
  /**
   * What one offered piece released, in order.
   *
   * @param text new answer text (empty if none)
   * @param head the first HEAD, the one time it is released
   * @param end the END, the one time it is released
   */
  public record Update(String text, AnswerPiece head, AnswerPiece end) {
    static final Update NONE = new Update("", null, null);

    public boolean isEmpty() {
      return text.isEmpty() && head == null && end == null;
    }
  }

  private final String requestId;
  private long generation = Long.MIN_VALUE;
  private int nextSeq;
  private final TreeMap<Integer, AnswerPiece> held = new TreeMap<>();
  private final StringBuilder generationText = new StringBuilder();
  private final StringBuilder released = new StringBuilder();
  private AnswerPiece head;
  private AnswerPiece end;
  private boolean diverged;
  private int applied;
  private int duplicates;
  private int stale;
  private int restarts;
  private int late;

  public StreamedAnswer(String requestId) {
    this.requestId = Objects.requireNonNull(requestId, "requestId");
  }

  /** Applies {@code piece} (of this answer's request) and returns what it released. */
  public Update offer(AnswerPiece piece) {
    if (!requestId.equals(piece.getRequestId())) {
      throw new IllegalArgumentException(
          "piece of " + piece.getRequestId() + " offered to the answer of " + requestId);
    }
    if (end != null || diverged) {
      late++;
      return Update.NONE;
    }
    if (piece.getGeneration() < generation) {
      stale++;
      return Update.NONE;
    }
    if (piece.getGeneration() > generation) {
      if (generation != Long.MIN_VALUE) {
        restarts++;
      }
      generation = piece.getGeneration();
      nextSeq = 0;
      held.clear();
      generationText.setLength(0);
    }
    if (piece.getSeq() < nextSeq || held.containsKey(piece.getSeq())) {
      duplicates++;
      return Update.NONE;
    }
    held.put(piece.getSeq(), piece);
    AnswerPiece newHead = null;
    AnswerPiece endPiece = null;
    while (!held.isEmpty() && held.firstKey() == nextSeq) {
      AnswerPiece next = held.pollFirstEntry().getValue();
      nextSeq++;
      applied++;
      switch (next.getType()) {
        case HEAD -> {
          if (head == null) {
            head = next;
            newHead = next;
          }
        }
        case DELTA -> {
          if (next.getText() != null) {
            generationText.append(next.getText());
          }
        }
        case END -> endPiece = next;
        default -> {} // a piece type added later: skipped, its seq counted
      }
    }
    String text = release();
    if (endPiece != null && !diverged) {
      if (generationText.length() < released.length()
          && endPiece.getStatus() == ResponseStatus.OK) {
        diverged = true; // the final answer is shorter than what was already released
      } else {
        end = endPiece; // a failure ends the answer, whatever part of it was shown
      }
    }
    AnswerPiece releasedEnd = endPiece != null && end == endPiece ? endPiece : null;
    if (text.isEmpty() && newHead == null && releasedEnd == null) {
      return Update.NONE;
    }
    return new Update(text, newHead, releasedEnd);
  }

  /** The current generation's text past what was released, if it agrees with it. */
  private String release() {
    int common = Math.min(generationText.length(), released.length());
    for (int i = 0; i < common; i++) {
      if (generationText.charAt(i) != released.charAt(i)) {
        diverged = true;
        return "";
      }
    }
    if (generationText.length() <= released.length()) {
      return "";
    }
    String text = generationText.substring(released.length());
    released.append(text);
    return text;
  }

  public String requestId() {
    return requestId;
  }

  /** The text released so far; once {@link #finished()}, the whole answer. */
  public String text() {
    return released.toString();
  }

  /** The first HEAD released, or null. */
  public AnswerPiece head() {
    return head;
  }

  /** The END piece, once released, or null. */
  public AnswerPiece end() {
    return end;
  }

  /** The END piece was released: the answer is complete. */
  public boolean finished() {
    return end != null;
  }

  /** A newer generation disagreed with text already released; nothing more is released. */
  public boolean diverged() {
    return diverged;
  }

  /** Pieces are held behind a missing sequence number. */
  public boolean waitingForGap() {
    return !held.isEmpty();
  }

  /** Pieces applied in order (HEAD, DELTA, END and skipped types). */
  public int applied() {
    return applied;
  }

  /** Pieces dropped because their sequence number was already applied or held (replays). */
  public int duplicates() {
    return duplicates;
  }

  /** Pieces dropped because a newer generation had started. */
  public int stale() {
    return stale;
  }

  /** How often a newer generation took over. */
  public int restarts() {
    return restarts;
  }

  /** Pieces that arrived after the answer was finished or had diverged. */
  public int late() {
    return late;
  }
}
