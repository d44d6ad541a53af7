package dev.streamrag.bench.client;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.streamrag.schemas.pieces.StreamedAnswer;

/**
 * What the client observed of one request, stamped by the client as it happened: when the answer's
 * first piece, first text and end arrived on the pieces stream (or over HTTP), and when the
 * committed response became readable with read_committed. Times are epoch microseconds, 0 when not
 * (yet) seen. Updated by the receiving threads (each method is atomic); read once they have
 * stopped.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY)
public final class Receipt {
  private final String requestId;
  private long sentMicros;
  private long firstPieceMicros;
  private long firstTextMicros;
  private long endMicros;
  private long committedMicros;
  private String status;
  private String text = "";
  private int restarts;
  private int replays;
  private int pieces;
  private boolean diverged;
  private String error;

  @JsonCreator
  public Receipt(@JsonProperty("requestId") String requestId) {
    this.requestId = requestId;
  }

  public String requestId() {
    return requestId;
  }

  /** The client meant to send the request at {@code micros} (open loop: its intended time). */
  public synchronized void sent(long micros) {
    sentMicros = micros;
  }

  public synchronized void piece(long micros) {
    if (firstPieceMicros == 0) {
      firstPieceMicros = micros;
    }
  }

  public synchronized void text(long micros) {
    piece(micros);
    if (firstTextMicros == 0) {
      firstTextMicros = micros;
    }
  }

  /** The answer's END arrived: its status and what the client assembled. */
  public synchronized void end(long micros, String status, StreamedAnswer answer) {
    piece(micros);
    if (endMicros == 0) {
      endMicros = micros;
      this.status = status;
      if (answer != null) {
        text = answer.text();
      }
    }
    noteReplays(answer);
  }

  /** One more chunk of the answer arrived (HTTP: an SSE event). */
  public synchronized void chunk() {
    pieces++;
  }

  /** The same, for an answer a client assembled itself (HTTP). */
  public synchronized void end(long micros, String status, String text) {
    piece(micros);
    if (endMicros == 0) {
      endMicros = micros;
      this.status = status;
      this.text = text == null ? "" : text;
    }
  }

  public synchronized void noteReplays(StreamedAnswer answer) {
    if (answer != null) {
      pieces = answer.applied();
      restarts = answer.restarts();
      replays = answer.duplicates() + answer.stale() + answer.late();
      diverged |= answer.diverged();
    }
  }

  public synchronized void committed(long micros) {
    if (committedMicros == 0) {
      committedMicros = micros;
    }
  }

  /** The client gave up or was refused (HTTP error, broken stream), with why. */
  public synchronized void failed(long micros, String status, String error) {
    if (endMicros == 0) {
      endMicros = micros;
      this.status = status;
      this.error = error;
    }
  }

  public synchronized long sentMicros() {
    return sentMicros;
  }

  public synchronized long firstPieceMicros() {
    return firstPieceMicros;
  }

  public synchronized long firstTextMicros() {
    return firstTextMicros;
  }

  public synchronized long endMicros() {
    return endMicros;
  }

  public synchronized long committedMicros() {
    return committedMicros;
  }

  public synchronized String status() {
    return status;
  }

  public synchronized String text() {
    return text;
  }

  /** Pieces (Kafka) or SSE chunks (HTTP) the answer came in. */
  public synchronized int pieces() {
    return pieces;
  }

  public synchronized int restarts() {
    return restarts;
  }

  public synchronized int replays() {
    return replays;
  }

  public synchronized boolean diverged() {
    return diverged;
  }

  public synchronized String error() {
    return error;
  }
}
