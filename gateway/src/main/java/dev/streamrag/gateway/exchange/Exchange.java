package dev.streamrag.gateway.exchange;

import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.AnswerFailure;
import dev.streamrag.gateway.openai.ApiError;
import dev.streamrag.gateway.openai.ChatCompletionFormat;
import dev.streamrag.gateway.openai.ChatRequest;
import dev.streamrag.gateway.openai.JobOutcomeErrors;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * One chat completion from the moment its request is produced to Kafka until its answer (or an
 * error) has been written: it receives the request's pieces, applies the answer contract, and
 * writes OpenAI's format to the client.
 *
 * <p>Every event (a piece, the deadline, a failed send, the client leaving) runs on the exchange's
 * own event loop ({@code context}), so the answer is fed from one thread and needs no locks. The
 * HTTP status is held back until there is something to say: a stream begins (200) with its first
 * text or a successful END, so a request the job refuses before any text still gets its proper HTTP
 * error. Once text was sent, failures can only be told as an SSE error event.
 */
public final class Exchange {
  /** The route label of chat completions in the request metrics. */
  public static final String ROUTE = "chat_completions";

  private final ChatRequest chat;
  private final ClientResponse response;
  private final Executor context;
  private final GatewayMetrics metrics;
  private final ChatCompletionFormat format;
  private final long arrivedNanos;
  private final long timeoutMillis;
  private final StreamedAnswer streamed;
  private final WholeAnswer whole;
  private final BufferedClientWriter writer;
  private Runnable onClosed = () -> {};
  private AnswerPiece head;
  private boolean committed;
  private boolean textWritten;
  private boolean closed;

  /**
   * @param context runs tasks on this exchange's event loop, in order
   * @param arrivedNanos {@link System#nanoTime()} when the request arrived
   * @param maxBufferedBytes how far a streaming client may fall behind before it is cut off
   */
  public Exchange(
      ChatRequest chat,
      ClientResponse response,
      Executor context,
      GatewayMetrics metrics,
      long arrivedNanos,
      long maxBufferedBytes) {
    this.chat = Objects.requireNonNull(chat, "chat");
    this.response = Objects.requireNonNull(response, "response");
    this.context = Objects.requireNonNull(context, "context");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.arrivedNanos = arrivedNanos;
    this.timeoutMillis = chat.timeoutMillis();
    this.format = new ChatCompletionFormat(chat.requestId(), chat.createdAtMillis(), chat.model());
    if (chat.stream()) {
      this.streamed = new StreamedAnswer(chat.requestId());
      this.whole = null;
      this.writer = new BufferedClientWriter(response, maxBufferedBytes);
    } else {
      this.streamed = null;
      this.whole = new WholeAnswer(chat.requestId());
      this.writer = null;
    }
  }

  /** Runs once when the exchange ends, whichever way (on its event loop). */
  public void onClosed(Runnable onClosed) {
    this.onClosed = Objects.requireNonNull(onClosed, "onClosed");
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

  /** Whether the exchange has ended; read on its event loop. */
  public boolean isClosed() {
    return closed;
  }

  void onPiece(AnswerPiece piece) {
    if (closed) {
      return;
    }
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
      commit();
      if (!write(format.contentChunk(update.text()))) {
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
      fail(error, AnswerFailure.JOB_ERROR);
      return;
    }
    commit();
    if (!write(format.finishChunk(end))) {
      return;
    }
    if (chat.includeUsage() && !write(format.usageChunk(end))) {
      return;
    }
    writer.end(ChatCompletionFormat.DONE);
    close();
  }

  private void finishWhole(AnswerPiece end) {
    ApiError error = JobOutcomeErrors.of(end);
    if (error != null) {
      sendError(error);
      return;
    }
    metrics.request(ROUTE, 200);
    response.sendJson(200, format.completion(whole.text(), whole.head(), end).toString());
    close();
  }

  /** The request could not be produced to Kafka: nothing was sent anywhere, so 503. */
  public void onSendFailed(String why) {
    if (closed) {
      return;
    }
    sendError(ApiError.kafkaUnavailable(why));
  }

  /** The deadline plus grace passed without the answer's END. */
  public void onDeadline() {
    if (closed) {
      return;
    }
    fail(ApiError.deadlineExceeded(timeoutMillis), AnswerFailure.DEADLINE);
  }

  /** The client closed the connection (or it broke) before the answer was complete. */
  public void onClientClosed() {
    if (closed) {
      return;
    }
    metrics.failedAnswer(AnswerFailure.CLIENT_GONE);
    if (!committed) {
      metrics.request(ROUTE, 499); // nginx's "client closed request": no status was ever sent
    }
    close();
  }

  /**
   * Ends the exchange with {@code error}: as the HTTP status if none was sent yet, else in-band.
   */
  private void fail(ApiError error, AnswerFailure reason) {
    if (!committed) {
      sendError(error);
      if (reason == AnswerFailure.DEADLINE) {
        metrics.failedAnswer(reason);
      }
      return;
    }
    metrics.failedAnswer(reason);
    if (write(ChatCompletionFormat.errorEvent(error))) {
      writer.end("");
    }
    close();
  }

  private void sendError(ApiError error) {
    metrics.request(ROUTE, error.status());
    response.sendJson(error.status(), error.toJson().toString());
    close();
  }

  /** Begins the event stream: status 200, then the role chunk with the HEAD's extension. */
  private void commit() {
    if (committed) {
      return;
    }
    committed = true;
    metrics.request(ROUTE, 200);
    response.beginEventStream();
    write(format.roleChunk(head));
  }

  /** Writes to the stream; false if the client fell too far behind and was cut off. */
  private boolean write(String event) {
    if (writer.write(event)) {
      return true;
    }
    metrics.failedAnswer(AnswerFailure.SLOW_CLIENT);
    response.abort();
    close();
    return false;
  }

  private void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (streamed != null) {
      metrics.piecesDropped(streamed.stale(), streamed.duplicates(), streamed.late());
    } else {
      metrics.piecesDropped(whole.stale(), whole.duplicates(), whole.late());
    }
    onClosed.run();
  }
}
