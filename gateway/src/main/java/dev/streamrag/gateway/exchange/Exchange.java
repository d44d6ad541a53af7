package dev.streamrag.gateway.exchange;

import dev.streamrag.gateway.kafka.SendResult;
import dev.streamrag.gateway.logging.RateLimitedLog;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.AnswerFailure;
import dev.streamrag.gateway.openai.ApiError;
import dev.streamrag.gateway.openai.ChatCompletionFormat;
import dev.streamrag.gateway.openai.ChatRequest;
import dev.streamrag.gateway.openai.JobOutcomeErrors;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One chat completion from the moment its request is produced to Kafka until its answer (or an
 * error) has been written and the client has taken it: it receives the request's pieces, applies
 * the answer contract, and writes OpenAI's format to the client.
 *
 * <p>Every event (a piece, a timer, the send's outcome, the client leaving) runs on the exchange's
 * own event loop ({@code context}), so the answer is fed from one thread and needs no locks. The
 * HTTP status is held back until there is something to say: a stream begins (200) with its first
 * text or a successful END, so a request the job refuses before any text still gets its proper HTTP
 * error. A stream that has had nothing to say for {@code keepAliveMillis} begins anyway and gets
 * {@code : keep-alive} comments, so that proxies and idle timers do not cut it; from then on, as
 * once text was sent, failures can only be told as an SSE error event.
 *
 * <p>The exchange is {@linkplain #onReleased released} (and stops counting against the open
 * requests) only when its response has really ended: a client that stops reading after the last
 * event keeps it until {@code drainTimeoutMillis}, then its connection is reset.
 */
public final class Exchange {
  /** The route label of chat completions in the request metrics. */
  public static final String ROUTE = "chat_completions";

  private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);
  private static final RateLimitedLog JOB_ERRORS = new RateLimitedLog(LOG, 10_000);
  private static final RateLimitedLog SEND_FAILURES = new RateLimitedLog(LOG, 10_000);
  private static final int MAX_LOGGED_MESSAGE_CHARS = 500;

  /** Runs a task on the exchange's event loop after a delay; returns what cancels it. */
  @FunctionalInterface
  public interface Scheduler {
    Runnable schedule(long delayMillis, Runnable task);
  }

  /**
   * Timing and memory bounds of one exchange.
   *
   * @param deadlineGraceMillis how long past the request's deadline to wait for the END
   * @param keepAliveMillis how often a waiting stream gets a keep-alive comment
   * @param drainTimeoutMillis how long a client may take to read the rest of a finished answer
   * @param maxBufferedBytes how far a streaming client may fall behind before it is cut off
   */
  public record Settings(
      long deadlineGraceMillis,
      long keepAliveMillis,
      long drainTimeoutMillis,
      long maxBufferedBytes) {}

  private final ChatRequest chat;
  private final ClientResponse response;
  private final Executor context;
  private final Scheduler scheduler;
  private final GatewayMetrics metrics;
  private final Settings settings;
  private final ChatCompletionFormat format;
  private final long arrivedNanos;
  private final StreamedAnswer streamed;
  private final WholeAnswer whole;
  private final BufferedClientWriter writer;
  private Runnable onReleased = () -> {};
  private Runnable cancelDeadline = () -> {};
  private Runnable cancelKeepAlive = () -> {};
  private Runnable cancelDrain = () -> {};
  private AnswerPiece head;
  private AnswerFailure failure;
  private boolean committed;
  private boolean roleWritten;
  private boolean textWritten;
  private boolean pieceArrived;
  private boolean wroteSinceTick;
  private boolean finished;
  private boolean released;

  /**
   * @param context runs tasks on this exchange's event loop, in order
   * @param scheduler runs delayed tasks on the same event loop
   * @param arrivedNanos {@link System#nanoTime()} when the request arrived
   */
  public Exchange(
      ChatRequest chat,
      ClientResponse response,
      Executor context,
      Scheduler scheduler,
      GatewayMetrics metrics,
      long arrivedNanos,
      Settings settings) {
    this.chat = Objects.requireNonNull(chat, "chat");
    this.response = Objects.requireNonNull(response, "response");
    this.context = Objects.requireNonNull(context, "context");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.arrivedNanos = arrivedNanos;
    this.format =
        new ChatCompletionFormat(
            chat.requestId(), chat.createdAtMillis(), chat.model(), chat.includeUsage());
    if (chat.stream()) {
      this.streamed = new StreamedAnswer(chat.requestId());
      this.whole = null;
      this.writer = new BufferedClientWriter(response, settings.maxBufferedBytes());
      this.writer.onEnded(this::release);
    } else {
      this.streamed = null;
      this.whole = new WholeAnswer(chat.requestId());
      this.writer = null;
    }
  }

  /** Runs once when the exchange is over and its response ended (on its event loop). */
  public void onReleased(Runnable onReleased) {
    this.onReleased = Objects.requireNonNull(onReleased, "onReleased");
  }

  public String requestId() {
    return chat.requestId();
  }

  public String tenantId() {
    return chat.request().getTenantId();
  }

  public ChatRequest chat() {
    return chat;
  }

  /** Hands {@code piece} to the exchange's event loop. Safe from any thread. */
  public void deliver(AnswerPiece piece) {
    context.execute(() -> onPiece(piece));
  }

  /** Runs {@code task} on the exchange's event loop. Safe from any thread. */
  public void execute(Runnable task) {
    context.execute(task);
  }

  /** Whether the exchange has been released; read on its event loop. */
  public boolean isReleased() {
    return released;
  }

  /**
   * Arms the exchange's timers: its deadline (plus grace) and, for a stream, the keep-alive. Call
   * once, on its event loop, when its request is about to be sent.
   */
  public void start() {
    long waitMillis =
        chat.deadlineMillis() + settings.deadlineGraceMillis() - System.currentTimeMillis();
    cancelDeadline = scheduler.schedule(Math.max(1, waitMillis), this::onDeadline);
    if (writer != null) {
      cancelKeepAlive = scheduler.schedule(settings.keepAliveMillis(), this::onKeepAliveTick);
    }
  }

  void onPiece(AnswerPiece piece) {
    if (finished) {
      return;
    }
    pieceArrived = true;
    if (whole != null) {
      AnswerPiece end = whole.offer(piece);
      if (end != null) {
        finishWhole(end);
      }
      return;
    }
    StreamedAnswer.Update update = streamed.offer(piece);
    if (update.head() != null) {
      head = update.head();
      format.answeredBy(head);
    }
    if (!update.text().isEmpty()) {
      if (!writeRoleChunk() || !write(format.contentChunk(update.text()))) {
        return;
      }
      if (!textWritten) {
        textWritten = true;
        metrics.firstText((System.nanoTime() - arrivedNanos) / 1e6);
      }
    }
    if (streamed.diverged()) {
      fail(JobOutcomeErrors.diverged(), AnswerFailure.DIVERGED);
    } else if (update.end() != null) {
      finishStream(update.end());
    }
  }

  private void finishStream(AnswerPiece end) {
    ApiError error = JobOutcomeErrors.of(end);
    if (error != null) {
      failByJob(end, error);
      return;
    }
    if (!writeRoleChunk() || !write(format.finishChunk(end))) {
      return;
    }
    if (chat.includeUsage() && !write(format.usageChunk(end))) {
      return;
    }
    endStream(ChatCompletionFormat.DONE);
  }

  private void finishWhole(AnswerPiece end) {
    ApiError error = JobOutcomeErrors.of(end);
    if (error != null) {
      failByJob(end, error);
      return;
    }
    finished = true;
    committed = true;
    metrics.request(ROUTE, 200);
    response.sendJson(format.completion(whole.text(), whole.head(), end).toString());
    release();
  }

  /** The job ended the request without an answer; its own message is logged, not sent. */
  private void failByJob(AnswerPiece end, ApiError error) {
    ErrorDetail detail = end.getError();
    JOB_ERRORS.warn(
        "Request {} ended {} (code {}, stage {}): {}",
        chat.requestId(),
        end.getStatus(),
        detail == null ? null : detail.getCode(),
        detail == null ? null : detail.getStage(),
        detail == null ? null : truncate(detail.getMessage()));
    fail(
        error,
        end.getStatus() == ResponseStatus.REJECTED
            ? AnswerFailure.JOB_REJECTED
            : AnswerFailure.JOB_ERROR);
  }

  /**
   * What became of producing the request. Ignored once a piece arrived (the job has it, whatever
   * the producer thinks). A refusal means nothing was stored: the client gets 503. An uncertain
   * outcome (delivery timed out) may have been stored and answered: the exchange keeps waiting for
   * pieces until its deadline.
   */
  public void onSendResult(SendResult result) {
    if (finished || pieceArrived || result.outcome() == SendResult.Outcome.SENT) {
      return;
    }
    SEND_FAILURES.warn(
        "Producing request {} {}: {}",
        chat.requestId(),
        result.outcome() == SendResult.Outcome.UNCERTAIN
            ? "timed out (it may be stored; waiting for its answer until the deadline)"
            : "was refused",
        String.valueOf(result.error()));
    if (result.outcome() == SendResult.Outcome.REFUSED) {
      fail(ApiError.kafkaRefused(result.transientFailure()), AnswerFailure.SEND_FAILED);
    }
  }

  /** The deadline plus grace passed without the answer's END. */
  void onDeadline() {
    fail(ApiError.deadlineExceeded(chat.timeoutMillis()), AnswerFailure.DEADLINE);
  }

  /** The pieces consumer failed while this exchange was open: pieces may have been missed. */
  public void onAnswerLost() {
    fail(ApiError.answerLost(), AnswerFailure.ANSWER_LOST);
  }

  /**
   * The gateway is stopping and cannot wait any longer: an answer in progress ends with an error,
   * one the client is still reading is cut off.
   */
  public void onShutdown() {
    if (finished && !released) {
      recordFailure(AnswerFailure.SHUTDOWN);
      response.abort();
      release();
      return;
    }
    fail(ApiError.shuttingDown(), AnswerFailure.SHUTDOWN);
  }

  /** The client closed the connection (or it broke) before the response ended. */
  public void onClientClosed() {
    if (released) {
      return;
    }
    recordFailure(AnswerFailure.CLIENT_GONE);
    if (!committed) {
      metrics.request(ROUTE, 499); // nginx's "client closed request": no status was ever sent
    }
    finished = true;
    release();
  }

  /**
   * A stream waiting for pieces: one that has not begun begins, so that proxies see a response; one
   * that has written nothing since the last tick gets a comment.
   */
  private void onKeepAliveTick() {
    if (finished) {
      return;
    }
    if (!committed || !wroteSinceTick) {
      beginStream();
      if (!write(ChatCompletionFormat.KEEP_ALIVE)) {
        return;
      }
    }
    wroteSinceTick = false;
    cancelKeepAlive = scheduler.schedule(settings.keepAliveMillis(), this::onKeepAliveTick);
  }

  /**
   * Ends the exchange with {@code error}: as the HTTP status if none was sent yet, else in-band.
   */
  private void fail(ApiError error, AnswerFailure reason) {
    if (finished) {
      return;
    }
    recordFailure(reason);
    if (!committed) {
      finished = true;
      committed = true;
      metrics.request(ROUTE, error.status());
      response.sendError(error);
      release();
      return;
    }
    if (write(ChatCompletionFormat.errorEvent(error))) {
      endStream("");
    }
  }

  /** Counts the first reason this exchange failed; later ones are consequences. */
  private void recordFailure(AnswerFailure reason) {
    if (failure == null) {
      failure = reason;
      metrics.failedAnswer(reason);
    }
  }

  /** Begins the event stream: status 200 and headers. */
  private void beginStream() {
    if (committed) {
      return;
    }
    committed = true;
    metrics.request(ROUTE, 200);
    response.beginEventStream();
  }

  /** Begins the stream if needed and writes the role chunk with the HEAD's extension, once. */
  private boolean writeRoleChunk() {
    beginStream();
    if (roleWritten) {
      return true;
    }
    roleWritten = true;
    return write(format.roleChunk(head));
  }

  /**
   * Ends the event stream after {@code last}. The exchange is released once the client has taken it
   * all, or cut off if it does not within the drain timeout.
   */
  private void endStream(String last) {
    finished = true;
    cancelTimers();
    writer.end(last);
    if (!released) {
      cancelDrain = scheduler.schedule(settings.drainTimeoutMillis(), this::onDrainTimeout);
    }
  }

  private void onDrainTimeout() {
    if (released) {
      return;
    }
    recordFailure(AnswerFailure.SLOW_CLIENT);
    response.abort();
    release();
  }

  /** Writes to the stream; false if the client fell too far behind and was cut off. */
  private boolean write(String event) {
    if (writer.write(event)) {
      wroteSinceTick = true;
      return true;
    }
    recordFailure(AnswerFailure.SLOW_CLIENT);
    finished = true;
    response.abort();
    release();
    return false;
  }

  private void cancelTimers() {
    cancelDeadline.run();
    cancelKeepAlive.run();
  }

  private void release() {
    if (released) {
      return;
    }
    released = true;
    finished = true;
    cancelTimers();
    cancelDrain.run();
    if (streamed != null) {
      metrics.piecesDropped(streamed.stale(), streamed.duplicates(), streamed.late());
    } else {
      metrics.piecesDropped(whole.stale(), whole.duplicates(), whole.late());
    }
    onReleased.run();
  }

  private static String truncate(String message) {
    if (message == null || message.length() <= MAX_LOGGED_MESSAGE_CHARS) {
      return message;
    }
    return message.substring(0, MAX_LOGGED_MESSAGE_CHARS) + "…";
  }
}
