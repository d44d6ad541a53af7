package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.PieceType;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.ToolProgress;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One request's answer on the pieces topic: its HEAD, text as it streams, and its END, numbered
 * from 0 without gaps within a generation. The first text goes out alone and at once (it is the
 * client's first token); later text is coalesced into pieces of up to {@code coalesceTokens}
 * tokens, or whatever has waited {@code coalesceWait}, so a long answer does not cost a record per
 * token.
 *
 * <p>A lost piece would leave consumers waiting behind a gap for good. So when Kafka loses one, the
 * stream starts a newer generation that repeats everything sent so far (HEAD, the text in one
 * DELTA, the END if it came), which consumers take over from seamlessly; it tries {@value
 * #MAX_REPAIRS} times, then leaves the answer to the committed response. A piece addressed to a
 * partition its topic lacks will never arrive, and is not repeated.
 *
 * <p>Thread-safe: the HEAD and END come from Flink's task thread, text from the HTTP client's,
 * coalescing flushes and repairs from the publisher's timer, loss notices from Kafka's threads.
 * Nothing is sent after {@link #abandon}, and no text after {@link #end}.
 */
public final class AnswerStream implements DeliveryListener {
  static final int MAX_REPAIRS = 3;

  /** Longest text of one DELTA: a long text (a cached answer, a repair) goes in several. */
  public static final int MAX_DELTA_CHARS = 16 * 1024;

  private static final long REPAIR_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final PieceSink sink;
  private final PieceDestination destination;
  private final String requestId;
  private final String tenantId;
  private final PieceMetrics metrics;
  private final int coalesceTokens;
  private final long coalesceWaitNanos;
  private final StringBuilder sent = new StringBuilder();
  private final StringBuilder buffer = new StringBuilder();
  private long generation;
  private int seq;
  private AnswerPiece head;
  private AnswerPiece end;
  private int sentTokens;
  private int bufferedTokens;
  private long bufferStartedNanos;
  private boolean flushScheduled;
  private boolean abandoned;
  private boolean undeliverable;
  private boolean repairScheduled;
  private boolean gaveUp;
  private int repairs;

  AnswerStream(
      PieceSink sink,
      PieceDestination destination,
      String requestId,
      String tenantId,
      long generation,
      PieceMetrics metrics) {
    this.sink = sink;
    this.destination = destination;
    this.requestId = requestId;
    this.tenantId = tenantId;
    this.generation = generation;
    this.metrics = metrics == null ? PieceMetrics.NONE : metrics;
    this.coalesceTokens = sink.settings().coalesceTokens();
    this.coalesceWaitNanos = sink.settings().coalesceWait().toNanos();
  }

  /** The current generation (a repair makes a newer one). */
  public synchronized long generation() {
    return generation;
  }

  /** Opens the answer; must come first. */
  public synchronized void head(
      RequestKind kind,
      String model,
      List<Citation> citations,
      CacheHitKind cacheHit,
      Instant createdAt) {
    if (abandoned || head != null) {
      return;
    }
    head =
        piece(PieceType.HEAD)
            .setKind(kind)
            .setModel(model)
            .setCitations(citations == null ? List.of() : citations)
            .setCacheHit(cacheHit == null ? CacheHitKind.NONE : cacheHit)
            .setCreatedAt(createdAt)
            .build();
    send(head);
  }

  /** The next streamed token's text. */
  public synchronized void text(String text) {
    if (!open() || text == null || text.isEmpty()) {
      return;
    }
    if (sent.length() == 0 && bufferedTokens == 0) {
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
      sink.schedule(this::flushDue, coalesceWaitNanos);
    }
  }

  /**
   * An agent's tool call starting or finishing: a TOOL piece between HEAD and END. Not part of a
   * repaired generation, which re-sends the text only: progress, not the answer.
   */
  public synchronized void tool(ToolProgress progress) {
    if (!open()) {
      return;
    }
    flushBuffer();
    send(piece(PieceType.TOOL).setTool(progress).build());
  }

  /** A whole answer at once (from the cache): one DELTA of {@code tokens} tokens. */
  public synchronized void whole(String text, int tokens) {
    if (!open() || text == null || text.isEmpty()) {
      return;
    }
    flushBuffer();
    sendDelta(text, tokens);
  }

  /** Closes the answer with {@code response}'s outcome; {@code timings} as of now. */
  public synchronized void end(InferenceResponse response, StageTimings timings) {
    if (!open()) {
      return;
    }
    flushBuffer();
    end =
        piece(PieceType.END)
            .setCacheHit(response.getCacheHit())
            .setCreatedAt(response.getCreatedAt())
            .setStatus(response.getStatus())
            .setFinishReason(response.getFinishReason())
            .setUsage(response.getUsage())
            .setError(response.getError())
            .setDegraded(response.getDegraded())
            .setTimings(timings)
            .build();
    send(end);
  }

  /** Stops the answer without an END: a newer one (a retry, a timeout's END) supersedes it. */
  public synchronized void abandon() {
    abandoned = true;
    buffer.setLength(0);
    bufferedTokens = 0;
  }

  private boolean open() {
    return !abandoned && head != null && end == null;
  }

  @Override
  public synchronized void lost(long lostGeneration) {
    if (lostGeneration != generation || abandoned || undeliverable || gaveUp || repairScheduled) {
      return; // an older generation's loss, already superseded; or nothing to repair
    }
    repairScheduled = true;
    sink.schedule(this::repair, REPAIR_DELAY_NANOS);
  }

  @Override
  public synchronized void undeliverable(long lostGeneration) {
    undeliverable = true;
  }

  /** Sends the answer so far again, as a newer generation. */
  private synchronized void repair() {
    repairScheduled = false;
    if (abandoned || undeliverable || head == null) {
      return;
    }
    if (repairs >= MAX_REPAIRS) {
      gaveUp = true;
      metrics.gaveUp();
      return;
    }
    repairs++;
    metrics.repaired();
    generation = Math.max(nowMicros(), generation + 1);
    seq = 0;
    send(AnswerPiece.newBuilder(head).setGeneration(generation).setSeq(0).build());
    sent.append(buffer);
    sentTokens += bufferedTokens;
    buffer.setLength(0);
    bufferedTokens = 0;
    if (sent.length() > 0) {
      sendSplit(sent.toString(), sentTokens);
    }
    if (end != null) {
      send(AnswerPiece.newBuilder(end).setGeneration(generation).build());
    }
  }

  private synchronized void flushDue() {
    flushScheduled = false;
    if (!open() || bufferedTokens == 0) {
      return;
    }
    long waited = System.nanoTime() - bufferStartedNanos;
    if (waited < coalesceWaitNanos) { // this buffer began after the timer was set: wait its turn
      flushScheduled = true;
      sink.schedule(this::flushDue, coalesceWaitNanos - waited);
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
    sent.append(text);
    sentTokens += tokens;
    sendSplit(text, tokens);
  }

  /**
   * {@code text} in DELTAs of at most {@link #MAX_DELTA_CHARS}, never splitting a surrogate pair;
   * the tokens are counted on the last.
   */
  private void sendSplit(String text, int tokens) {
    int from = 0;
    while (from < text.length()) {
      int to = Math.min(text.length(), from + MAX_DELTA_CHARS);
      if (to < text.length() && Character.isHighSurrogate(text.charAt(to - 1))) {
        to--;
      }
      boolean last = to == text.length();
      metrics.delta(last ? tokens : 0);
      send(
          piece(PieceType.DELTA)
              .setText(text.substring(from, to))
              .setTokens(last ? tokens : 0)
              .build());
      from = to;
    }
  }

  private AnswerPiece.Builder piece(PieceType type) {
    return AnswerPiece.newBuilder()
        .setRequestId(requestId)
        .setTenantId(tenantId)
        .setGeneration(generation)
        .setSeq(seq)
        .setType(type)
        .setEmittedAt(Instant.EPOCH);
  }

  /** Numbers {@code piece} in this generation and hands it over, stamped now. */
  private void send(AnswerPiece piece) {
    AnswerPiece numbered =
        AnswerPiece.newBuilder(piece)
            .setGeneration(generation)
            .setSeq(seq++)
            .setEmittedAt(Instant.now())
            .build();
    sink.send(destination, numbered, metrics, this);
  }

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }
}
