package dev.streamrag.inference.llm;

import static java.util.stream.Collectors.counting;
import static java.util.stream.Collectors.groupingBy;

import dev.streamrag.inference.Stages;
import dev.streamrag.inference.pieces.PieceCounters;
import dev.streamrag.inference.pieces.RequestPieces;
import dev.streamrag.jobs.llm.AttemptListener;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.ChatCompletion;
import dev.streamrag.jobs.llm.EndpointRouter;
import dev.streamrag.jobs.llm.LlmOutcome;
import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.jobs.llm.RoutedChatCaller;
import dev.streamrag.jobs.llm.TextListener;
import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PoolPlacement;
import dev.streamrag.jobs.llm.pools.PooledChatCaller;
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
import dev.streamrag.security.SecretReference;
import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToLongFunction;
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

  /** Everything the stage needs to know about the LLM pools and their endpoints. */
  public record Settings(
      List<ModelPool> pools,
      double affinityLoadFactor,
      Duration loadPollInterval,
      RetryPolicy retry,
      Duration attemptTimeout,
      SecretReference apiKey,
      boolean ignoreEos,
      LlmResilienceSettings resilience)
      implements Serializable {
    /**
     * As a record's, naming where the API key is but not the key (which these settings never hold:
     * it is read where the stage opens): settings end up in logs and error messages.
     */
    @Override
    public String toString() {
      return "Settings[pools="
          + pools
          + ", affinityLoadFactor="
          + affinityLoadFactor
          + ", loadPollInterval="
          + loadPollInterval
          + ", retry="
          + retry
          + ", attemptTimeout="
          + attemptTimeout
          + ", apiKey="
          + (apiKey == null ? "none" : apiKey)
          + ", ignoreEos="
          + ignoreEos
          + ", resilience="
          + resilience
          + "]";
    }
  }

  /**
   * One request's LLM call. Whoever settles it first, its outcome or Flink's timeout, answers the
   * request; the other does nothing. Its attempts' streams are opened under its lock.
   */
  private static final class Call {
    final AtomicBoolean settled = new AtomicBoolean();
    volatile CompletableFuture<PooledChatCaller.Pooled> outcome;
    volatile String pool; // the pool the call is on now
    AnswerStream stream; // guarded by this
    long lastGeneration; // guarded by this
  }

  private final Settings settings;
  private final PieceSettings pieces;
  private transient PooledChatCaller caller;
  // By identity: Flink hands timeout() the same object, and two requests may share an id.
  private transient Map<InFlightRequest, Call> inFlight;
  private transient PiecePublisher publisher;
  private transient PieceMetrics pieceMetrics;
  private transient Counter retries;
  private transient Counter timeouts;
  private transient Counter errors;
  private transient Counter unplaced;

  /**
   * @param pieces where to publish answers as they stream, or null to publish none
   */
  public GenerateAnswer(Settings settings, PieceSettings pieces) {
    this.settings = settings;
    this.pieces = pieces;
  }

  @Override
  public void open(Configuration parameters) {
    caller =
        LlmCallers.open(settings, getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks());
    inFlight = Collections.synchronizedMap(new IdentityHashMap<>());
    var group = getRuntimeContext().getMetricGroup().addGroup("llm");
    retries = group.counter("retries");
    timeouts = group.counter("timeouts");
    errors = group.counter("errors");
    unplaced = group.counter("unplaced");
    group.gauge("inFlight", () -> inFlight.size());
    group.gauge("poolFailovers", caller::failovers);
    group.gauge("retryBudgetRefusals", () -> sum(RoutedChatCaller::retryBudgetRefusals));
    group.gauge("circuitOpenFailures", () -> sum(RoutedChatCaller::circuitOpenFailures));
    group.gauge("firstTokenTimeouts", () -> sum(RoutedChatCaller::firstTokenTimeouts));
    group.gauge("idleTimeouts", () -> sum(RoutedChatCaller::idleTimeouts));
    group.gauge("retryAfterPauses", () -> sum(RoutedChatCaller::retryAfterPauses));
    group.gauge(
        "prefixIndexBlocks", () -> sum(pool -> (long) pool.router().rememberedPrefixBlocks()));
    Map<String, Long> authorities =
        settings.pools().stream()
            .flatMap(pool -> pool.endpoints().stream())
            .collect(groupingBy(url -> URI.create(url).getAuthority(), counting()));
    for (PooledChatCaller.Pool pool : caller.pools()) {
      var poolGroup = group.addGroup("pool", pool.spec().name());
      poolGroup.gauge("inFlight", pool::inFlight);
      poolGroup.gauge("calls", pool::calls);
      poolGroup.gauge("capacity", pool::capacity);
      EndpointRouter router = pool.caller().router();
      for (EndpointRouter.Endpoint endpoint : router.endpoints()) {
        // Under llm, not the pool: the endpoint's series keep their names with or without pools.
        // host:port names it; with the path too where servers share one (a gateway's routes).
        String authority = endpoint.baseUrl().getAuthority();
        var endpointGroup =
            group.addGroup(
                "endpoint",
                authorities.getOrDefault(authority, 1L) > 1
                    ? authority + endpoint.baseUrl().getPath()
                    : authority);
        endpointGroup.gauge("outstanding", endpoint::outstanding);
        endpointGroup.gauge("failedAttempts", endpoint::failedAttempts);
        endpointGroup.gauge("breakerState", endpoint::breakerStateCode);
        // LOAD_AWARE: the server's reported load plus this task's in flight; -1 without a reading.
        endpointGroup.gauge("serverLoad", () -> router.serverLoadScore(endpoint));
      }
    }
    if (pieces != null) {
      publisher = PiecePublisher.acquire(pieces);
      pieceMetrics = new PieceCounters(getRuntimeContext().getMetricGroup());
    }
  }

  private long sum(ToLongFunction<RoutedChatCaller> counter) {
    long total = 0;
    for (PooledChatCaller.Pool pool : caller.pools()) {
      total += counter.applyAsLong(pool.caller());
    }
    return total;
  }

  /**
   * Cancels every call in flight and every scheduled retry: after a failover the restored task
   * makes these calls again, and the old ones would otherwise double the LLM load meanwhile.
   */
  @Override
  public void close() {
    if (inFlight != null) {
      // Settled without an answer, before the calls are cancelled: their cancellation must not be
      // streamed to clients as an ERROR END. The requests are in the checkpoint the job restores
      // from, and are answered there; Flink has stopped taking results from this instance.
      synchronized (inFlight) {
        for (Call call : inFlight.values()) {
          if (call.settled.compareAndSet(false, true)) {
            synchronized (call) {
              if (call.stream != null) {
                call.stream.abandon();
              }
            }
          }
        }
        inFlight.clear();
      }
    }
    if (caller != null) {
      caller.close();
      caller = null;
    }
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
    PoolPlacement.Decision placement = caller.place(placementOf(request));
    if (!placement.placed()) {
      unplaced.inc();
      request.getTimings().setLlmMs(Stages.lap(request));
      result.complete(
          List.of(
              Stages.fail(
                  request,
                  ResponseStatus.REJECTED,
                  placement.rejectCode(),
                  placement.reason(),
                  "llm",
                  false)));
      return;
    }
    Call call = new Call();
    inFlight.put(request, call);
    call.outcome =
        caller.call(
            placement,
            chatCall(request),
            request.getDeadline(),
            attempts(request, call),
            pool -> call.pool = pool.name());
    call.outcome.whenComplete(
        (answer, error) -> {
          if (!call.settled.compareAndSet(false, true)) {
            return; // settled by timeout(), which has answered already
          }
          inFlight.remove(request);
          try {
            if (answer != null && answer.outcome() != null) {
              finish(request, answer);
            } else { // the caller's future never fails; should it, answer rather than hang
              errors.inc();
              Stages.fail(
                  request,
                  ResponseStatus.ERROR,
                  "internal.llm_stage",
                  "the LLM call failed unexpectedly",
                  "llm",
                  true);
            }
            synchronized (call) {
              request.setLastGeneration(call.lastGeneration);
              if (call.stream != null) {
                RequestPieces.end(call.stream, request, request.getResponse());
              }
            }
          } catch (RuntimeException e) {
            Stages.fail(
                request,
                ResponseStatus.ERROR,
                "internal.llm_stage",
                "the LLM stage could not finish the request",
                "llm",
                true);
          }
          result.complete(List.of(request));
        });
  }

  /**
   * Each attempt streams a new generation of the answer and abandons the last one. None starts once
   * the call is settled: a retry racing Flink's timeout must not leave an orphan generation that
   * nobody ends.
   */
  private AttemptListener attempts(InFlightRequest request, Call call) {
    if (publisher == null) {
      return AttemptListener.NONE;
    }
    List<Citation> citations = citations(request.getPassages());
    return (attempt, endpoint) -> {
      synchronized (call) {
        if (call.settled.get()) {
          return TextListener.NONE;
        }
        AnswerStream next =
            RequestPieces.open(
                publisher,
                request,
                citations,
                CacheHitKind.NONE,
                pieceMetrics,
                call.lastGeneration);
        call.lastGeneration = next.generation();
        if (call.stream != null) {
          call.stream.abandon();
        }
        call.stream = next;
        return next::text;
      }
    };
  }

  /** Flink's async timeout: the request ends as TIMEOUT and its call is stopped. */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    Call call = inFlight.get(request);
    if (call != null) {
      if (!call.settled.compareAndSet(false, true)) {
        return; // its outcome arrived first and completes the request
      }
      inFlight.remove(request);
      call.outcome.cancel(true);
      synchronized (call) {
        if (call.stream != null) {
          call.stream.abandon(); // the finish stage publishes a newer generation ending TIMEOUT
        }
        request.setLastGeneration(call.lastGeneration);
      }
    }
    request.getTimings().setLlmMs(Stages.lap(request));
    timeouts.inc();
    Stages.fail(
        request,
        ResponseStatus.TIMEOUT,
        "llm.timeout",
        "the LLM call outlived the job's async timeout",
        "llm",
        true);
    if (call != null) {
      request.getResponse().setLlmPool(call.pool); // its cost is the pool's, as any answer's
    }
    result.complete(List.of(request));
  }

  private static PoolPlacement.Request placementOf(InFlightRequest request) {
    return new PoolPlacement.Request(
        request.getModel(),
        request.getRequest().getKind(),
        request.getPromptTokensEstimate(),
        request.getMaxTokens());
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
        r.getStop(),
        settings.ignoreEos());
  }

  private void finish(InFlightRequest request, PooledChatCaller.Pooled pooled) {
    LlmOutcome outcome = pooled.outcome();
    request.getTimings().setLlmMs(Stages.lap(request));
    retries.inc(pooled.retries());
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
      request.getResponse().setLlmPool(pooled.pool().name());
      request.getResponse().setRetries(pooled.retries());
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
            .setLlmPool(pooled.pool().name())
            .setRetries(pooled.retries())
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
