package dev.streamrag.inference.llm;

import dev.streamrag.inference.Stages;
import dev.streamrag.inference.pieces.PieceCounters;
import dev.streamrag.inference.pieces.RequestPieces;
import dev.streamrag.jobs.llm.AttemptListener;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.ChatCompletion;
import dev.streamrag.jobs.llm.EndpointRouter;
import dev.streamrag.jobs.llm.LlmOutcome;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.jobs.llm.RoutedChatCaller;
import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.jobs.llm.StreamingChatClient;
import dev.streamrag.jobs.pieces.AnswerStream;
import dev.streamrag.jobs.pieces.PieceMetrics;
import dev.streamrag.jobs.pieces.PiecePublisher;
import dev.streamrag.jobs.pieces.PieceSettings;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.TokenUsage;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.schemas.internal.Passage;
import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * The LLM stage, in Flink's Async I/O: streams each prompt from an OpenAI-compatible endpoint
 * ({@link RoutedChatCaller}: routing, retries within the deadline), and finishes the request with
 * the answer, its citations, usage and TTFT/TPOT; or with ERROR or TIMEOUT and the reason. Should
 * Flink's own async timeout fire first, the call is cancelled (closing its stream) and the request
 * still ends as TIMEOUT, never as a failed job.
 *
 * <p>As the answer streams, each attempt publishes it as one generation of pieces (HEAD with the
 * citations, text as it arrives, END with the outcome) through the shared {@link PiecePublisher},
 * straight from the HTTP client's thread: the client's first token does not wait for the request to
 * leave this operator, nor for a checkpoint. Pieces are flushed on every checkpoint.
 */
public final class GenerateAnswer extends RichAsyncFunction<InFlightRequest, InFlightRequest>
    implements CheckpointedFunction {
  private static final long serialVersionUID = 1L;

  /** Everything the stage needs to know about the LLM endpoints. */
  public record Settings(
      List<String> endpoints,
      RoutingPolicy routing,
      RetryPolicy retry,
      Duration attemptTimeout,
      String apiKey)
      implements Serializable {}

  /** One request's call: whoever settles it first (its outcome or Flink's timeout) answers. */
  private record Call(
      CompletableFuture<LlmOutcome> outcome,
      AtomicReference<AnswerStream> stream,
      AtomicBoolean settled) {}

  private final Settings settings;
  private final PieceSettings pieces;
  private transient RoutedChatCaller caller;
  private transient Map<String, Call> inFlight;
  private transient PiecePublisher publisher;
  private transient PieceMetrics pieceMetrics;
  private transient Counter retries;
  private transient Counter timeouts;
  private transient Counter errors;

  /**
   * @param pieces where to publish answers as they stream, or null to publish none
   */
  public GenerateAnswer(Settings settings, PieceSettings pieces) {
    this.settings = settings;
    this.pieces = pieces;
  }

  @Override
  public void open(Configuration parameters) {
    List<URI> endpoints = settings.endpoints().stream().map(URI::create).toList();
    caller =
        new RoutedChatCaller(
            StreamingChatClient.builder().apiKey(settings.apiKey()).build(),
            new EndpointRouter(endpoints, settings.routing()),
            settings.retry(),
            settings.attemptTimeout());
    inFlight = new ConcurrentHashMap<>();
    var group = getRuntimeContext().getMetricGroup().addGroup("llm");
    retries = group.counter("retries");
    timeouts = group.counter("timeouts");
    errors = group.counter("errors");
    group.gauge("inFlight", () -> inFlight.size());
    for (EndpointRouter.Endpoint endpoint : caller.router().endpoints()) {
      group
          .addGroup("endpoint", endpoint.baseUrl().getAuthority())
          .gauge("outstanding", endpoint::outstanding);
    }
    if (pieces != null) {
      publisher = PiecePublisher.acquire(pieces);
      pieceMetrics = new PieceCounters(getRuntimeContext().getMetricGroup());
    }
  }

  @Override
  public void close() {
    if (publisher != null) {
      publisher.release();
      publisher = null;
    }
  }

  /** Pieces handed to Kafka before this checkpoint are acknowledged before it completes. */
  @Override
  public void snapshotState(FunctionSnapshotContext context) {
    if (publisher != null) {
      publisher.flush();
    }
  }

  @Override
  public void initializeState(FunctionInitializationContext context) {
    // No state: in-flight requests are Flink's (the async operator's queue); a restored one is
    // called again and streams a newer generation.
  }

  @Override
  public void asyncInvoke(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    if (Stages.isFinished(request)) {
      result.complete(List.of(request));
      return;
    }
    String id = request.getRequest().getRequestId();
    AtomicReference<AnswerStream> stream = new AtomicReference<>();
    CompletableFuture<LlmOutcome> outcome =
        caller.call(chatCall(request), request.getDeadline(), attempts(request, stream));
    Call call = new Call(outcome, stream, new AtomicBoolean());
    inFlight.put(id, call);
    outcome.whenComplete(
        (answer, error) -> {
          inFlight.remove(id, call);
          if (answer != null && call.settled().compareAndSet(false, true)) {
            finish(request, answer);
            AnswerStream last = stream.get();
            if (last != null) {
              RequestPieces.end(last, request, request.getResponse());
            }
            result.complete(List.of(request));
          }
          // else: settled by timeout(), which has answered already
        });
  }

  /** Each attempt streams a new generation of the answer; a retry abandons the last one. */
  private AttemptListener attempts(InFlightRequest request, AtomicReference<AnswerStream> current) {
    if (publisher == null) {
      return AttemptListener.NONE;
    }
    List<Citation> citations = citations(request.getPassages());
    return (attempt, endpoint) -> {
      AnswerStream next =
          RequestPieces.open(publisher, request, citations, CacheHitKind.NONE, pieceMetrics);
      AnswerStream previous = current.getAndSet(next);
      if (previous != null) {
        previous.abandon();
      }
      return next::text;
    };
  }

  /** Flink's async timeout: the request ends as TIMEOUT and its call is stopped. */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    Call call = inFlight.remove(request.getRequest().getRequestId());
    if (call != null) {
      if (!call.settled().compareAndSet(false, true)) {
        return; // its outcome arrived first and completes the request
      }
      call.outcome().cancel(true);
      AnswerStream stream = call.stream().get();
      if (stream != null) {
        stream.abandon(); // the finish stage publishes a newer generation that ends TIMEOUT
      }
    }
    request.getTimings().setLlmMs(Stages.lap(request));
    timeouts.inc();
    result.complete(
        List.of(
            Stages.fail(
                request,
                ResponseStatus.TIMEOUT,
                "llm.timeout",
                "the LLM call outlived the job's async timeout",
                "llm",
                true)));
  }

  private ChatCall chatCall(InFlightRequest request) {
    InferenceRequest r = request.getRequest();
    return new ChatCall(
        request.getModel(),
        request.getPrompt(),
        request.getMaxTokens(),
        r.getTemperature(),
        r.getTopP(),
        r.getSeed(),
        r.getStop());
  }

  private void finish(InFlightRequest request, LlmOutcome outcome) {
    request.getTimings().setLlmMs(Stages.lap(request));
    retries.inc(outcome.retries());
    if (!outcome.ok()) {
      if (outcome.timedOut()) {
        timeouts.inc();
      } else {
        errors.inc();
      }
      Stages.fail(
          request,
          outcome.timedOut() ? ResponseStatus.TIMEOUT : ResponseStatus.ERROR,
          outcome.failure().code(),
          outcome.failure().getMessage(),
          "llm",
          outcome.failure().retryable());
      request.getResponse().setLlmEndpoint(outcome.endpoint());
      request.getResponse().setRetries(outcome.retries());
      return;
    }
    ChatCompletion completion = outcome.completion();
    request.getTimings().setTtftMs(completion.ttftMillis());
    request.getTimings().setTpotMs(completion.tpotMillis());
    InferenceResponse response =
        Stages.response(request, ResponseStatus.OK)
            .setText(completion.text())
            .setFinishReason(completion.finishReason())
            .setCitations(citations(request.getPassages()))
            .setUsage(
                new TokenUsage(
                    completion.promptTokens(),
                    completion.completionTokens(),
                    completion.cachedPromptTokens()))
            .setLlmEndpoint(outcome.endpoint())
            .setRetries(outcome.retries())
            .build();
    request.setResponse(response);
  }

  static List<Citation> citations(List<Passage> passages) {
    List<Citation> citations = new ArrayList<>(passages.size());
    for (Passage passage : passages) {
      citations.add(
          new Citation(
              passage.getDocId(),
              passage.getChunkId(),
              passage.getScore(),
              passage.getTitle(),
              passage.getSource()));
    }
    return citations;
  }
}
