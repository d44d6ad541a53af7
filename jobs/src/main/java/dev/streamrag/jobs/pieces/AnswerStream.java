package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.PieceType;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.StageTimings;
import java.time.Instant;
import java.util.List;

/**
 * One generation of one request's answer on the pieces topic: its HEAD, text as it streams, and its
 * END, numbered from 0 without gaps. The first text goes out alone and at once (it is the client's
 * first token); later text is coalesced into pieces of up to {@code coalesceTokens} tokens, or
 * whatever has waited {@code coalesceWait}, so a long answer does not cost a record per token.
 *
 * <p>Thread-safe: the HEAD and END come from Flink's task thread, text from the HTTP client's, and
 * coalescing flushes from the publisher's timer. Nothing is sent after {@link #end} or {@link
 * #abandon}.
 */
public final class AnswerStream {
  private final PieceSink publisher;
  private final PieceDestination destination;
  private final String requestId;
  private final String tenantId;
  private final long generation;
  private final PieceMetrics metrics;
  private final int coalesceTokens;
  private final long coalesceWaitNanos;
  private final StringBuilder buffer = new StringBuilder();
  private int seq;
  private boolean textSent;
  private int bufferedTokens;
  private long bufferStartedNanos;
  private boolean flushScheduled;
  private boolean closed;

  AnswerStream(
      PieceSink publisher,
      PieceDestination destination,
      String requestId,
      String tenantId,
      long generation,
      PieceMetrics metrics) {
    this.publisher = publisher;
    this.destination = destination;
    this.requestId = requestId;
    this.tenantId = tenantId;
    this.generation = generation;
    this.metrics = metrics == null ? PieceMetrics.NONE : metrics;
    this.coalesceTokens = publisher.settings().coalesceTokens();
    this.coalesceWaitNanos = publisher.settings().coalesceWait().toNanos();
  }

  public long generation() {
    return generation;
  }

  /** Opens the generation; must come first. */
  public synchronized void head(
      RequestKind kind,
      String model,
      List<Citation> citations,
      CacheHitKind cacheHit,
      Instant createdAt) {
    if (closed || seq != 0) {
      return;
    }
    send(
        piece(PieceType.HEAD)
            .setKind(kind)
            .setModel(model)
            .setCitations(citations == null ? List.of() : citations)
            .setCacheHit(cacheHit == null ? CacheHitKind.NONE : cacheHit)
            .setCreatedAt(createdAt));
  }

  /** The next streamed token's text. */
  public synchronized void text(String text) {
    if (closed || seq == 0 || text == null || text.isEmpty()) {
      return;
    }
    if (!textSent) {
      textSent = true;
      sendDelta(text, 1); // the first token: the client's TTFT, never held back
      return;
    }
    if (bufferedTokens == 0) {
      bufferStartedNanos = System.nanoTime();
    }
    buffer.append(text);
    bufferedTokens++;
    if (bufferedTokens >= coalesceTokens || coalesceWaitNanos == 0) {
      flushBuffer();
    } else if (!flushScheduled) {
      flushScheduled = true;
      publisher.schedule(this::flushDue, coalesceWaitNanos);
    }
  }

  /** A whole answer at once (from the cache): one DELTA of {@code tokens} tokens. */
  public synchronized void whole(String text, int tokens) {
    if (closed || seq == 0 || text == null || text.isEmpty()) {
      return;
    }
    flushBuffer();
    textSent = true;
    sendDelta(text, tokens);
  }

  /** Closes the generation with {@code response}'s outcome; {@code timings} as of now. */
  public synchronized void end(InferenceResponse response, StageTimings timings) {
    if (closed || seq == 0) {
      return;
    }
    flushBuffer();
    closed = true;
    send(
        piece(PieceType.END)
            .setCacheHit(response.getCacheHit())
            .setCreatedAt(response.getCreatedAt())
            .setStatus(response.getStatus())
            .setFinishReason(response.getFinishReason())
            .setUsage(response.getUsage())
            .setError(response.getError())
            .setTimings(timings));
  }

  /** Stops the generation without an END: a newer one (a retry, a timeout's END) supersedes it. */
  public synchronized void abandon() {
    closed = true;
    buffer.setLength(0);
    bufferedTokens = 0;
  }

  private synchronized void flushDue() {
    flushScheduled = false;
    if (closed || bufferedTokens == 0) {
      return;
    }
    long waited = System.nanoTime() - bufferStartedNanos;
    if (waited < coalesceWaitNanos) { // this buffer began after the timer was set: wait its turn
      flushScheduled = true;
      publisher.schedule(this::flushDue, coalesceWaitNanos - waited);
      return;
    }
    flushBuffer();
  }

  private void flushBuffer() {
    if (bufferedTokens == 0) {
      return;
    }
    sendDelta(buffer.toString(), bufferedTokens);
    buffer.setLength(0);
    bufferedTokens = 0;
  }

  private void sendDelta(String text, int tokens) {
    metrics.delta(tokens);
    send(piece(PieceType.DELTA).setText(text).setTokens(tokens));
  }

  private AnswerPiece.Builder piece(PieceType type) {
    return AnswerPiece.newBuilder()
        .setRequestId(requestId)
        .setTenantId(tenantId)
        .setGeneration(generation)
        .setSeq(seq)
        .setType(type);
  }

  private void send(AnswerPiece.Builder piece) {
    seq++;
    publisher.send(destination, piece.setEmittedAt(Instant.now()).build(), metrics);
  }
}
