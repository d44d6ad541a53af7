package dev.streamrag.jobs.llm;

import dev.streamrag.jobs.llm.EndpointRouter.AttemptResult;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls the LLM the way the inference job needs it: an endpoint chosen by the {@link
 * EndpointRouter} per attempt (another one after a failure, when there is one), retries with
 * jittered backoff on retryable failures (429, 5xx, lost connections, broken or idle streams), and
 * nothing allowed past the request's deadline: the attempt in flight is cancelled, and the call
 * ends as timed out.
 *
 * <p>With {@link LlmResilienceSettings} (see {@link #builder()}) it also protects the fleet:
 *
 * <ul>
 *   <li>an attempt whose first token, or next token, is late is cancelled ({@link
 *       LlmCallException#STREAM_IDLE}) and retried elsewhere;
 *   <li>a 429 or 503 with {@code Retry-After} pauses its endpoint for that long (capped): the
 *       router skips it, and if every endpoint is paused the retry waits, unless the wait would
 *       pass the deadline, in which case the call ends at once with that failure;
 *   <li>retries are rationed by a {@link RetryBudget}; a retry it refuses ends the call with {@link
 *       LlmCallException#RETRY_BUDGET_EXHAUSTED};
 *   <li>each endpoint's circuit breaker counts 5xx, connection failures, broken streams and idle
 *       timeouts (not 429s, which are backpressure, nor client errors, cancellations or the
 *       request's deadline); when every breaker is open the call fails fast with {@link
 *       LlmCallException#CIRCUIT_OPEN}, sending nothing.
 * </ul>
 *
 * <p>{@link #close()} cancels every call in flight: its attempt's connection is closed, its retry
 * timer cancelled, and its outcome completes normally with a {@link LlmCallException#CANCELLED}
 * failure ({@link LlmOutcome#cancelled()}), so nothing waits on it forever. The caller owns its
 * {@link StreamingChatClient} and closes it too.
 */
public final class RoutedChatCaller implements AutoCloseable {
  private final StreamingChatClient client;

  /**
   * Runs retries and Retry-After waits when their timers fire: a few daemon threads, not the common
   * pool, which on a 2-core machine starts a new thread per task, and an outage whose attempt
   * listeners block (a producer waiting for a broker) would pile them up.
   */
  private final ThreadPoolExecutor steps = retryThreads();

  private final EndpointRouter router;
  private final RetryPolicy retryPolicy;
  private final Duration attemptTimeout;
  private final LlmResilienceSettings settings;
  private final RetryBudget budget;
  private final Set<Call> calls = ConcurrentHashMap.newKeySet();
  private final AtomicInteger retriesTotal = new AtomicInteger();
  private final AtomicLong callsTotal = new AtomicLong();
  private final AtomicLong budgetRefusals = new AtomicLong();
  private final AtomicLong circuitOpenFailures = new AtomicLong();
  private final AtomicLong retryAfterPauses = new AtomicLong();
  private final AtomicLong cancelledCalls = new AtomicLong();
  private volatile boolean closed;

  /**
   * The original caller: no idle timeouts, Retry-After ignored, no retry budget, and the router's
   * breakers (none, from {@link EndpointRouter#EndpointRouter(List, RoutingPolicy)}).
   */
  public RoutedChatCaller(
      StreamingChatClient client,
      EndpointRouter router,
      RetryPolicy retryPolicy,
      Duration attemptTimeout) {
    this(client, router, retryPolicy, attemptTimeout, LlmResilienceSettings.disabled());
  }

  /**
   * A caller with {@code settings}; circuit breakers are the {@code router}'s own, so build it with
   * {@link EndpointRouter#EndpointRouter(List, RoutingPolicy, LlmResilienceSettings)} and the same
   * settings (as {@link #builder()} does).
   */
  public RoutedChatCaller(
      StreamingChatClient client,
      EndpointRouter router,
      RetryPolicy retryPolicy,
      Duration attemptTimeout,
      LlmResilienceSettings settings) {
    this.client = Objects.requireNonNull(client, "client");
    this.router = Objects.requireNonNull(router, "router");
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
    this.attemptTimeout = Objects.requireNonNull(attemptTimeout, "attemptTimeout");
    this.settings = Objects.requireNonNull(settings, "settings");
    if (attemptTimeout.isNegative() || attemptTimeout.isZero()) {
      throw new IllegalArgumentException("attemptTimeout must be positive, got " + attemptTimeout);
    }
    this.budget = new RetryBudget(settings);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a caller and its router from one set of settings; {@link #build()} checks them. */
  public static final class Builder {
    private StreamingChatClient client;
    private List<URI> endpoints;
    private RoutingPolicy routing = RoutingPolicy.LEAST_OUTSTANDING;
    private double affinityLoadFactor = EndpointRouter.DEFAULT_LOAD_FACTOR;
    private Duration loadPollInterval = EndpointRouter.DEFAULT_LOAD_POLL_INTERVAL;
    private RetryPolicy retryPolicy;
    private Duration attemptTimeout;
    private LlmResilienceSettings resilience = LlmResilienceSettings.defaults();

    private Builder() {}

    /** The HTTP client; the caller owns it and closes it. Required. */
    public Builder client(StreamingChatClient client) {
      this.client = client;
      return this;
    }

    /** The endpoints' base URLs ({@code http://host:port}). Required. */
    public Builder endpoints(List<URI> endpoints) {
      this.endpoints = endpoints;
      return this;
    }

    /** Default LEAST_OUTSTANDING. */
    public Builder routing(RoutingPolicy routing) {
      this.routing = routing;
      return this;
    }

    /**
     * PREFIX_AFFINITY's load bound (default {@link EndpointRouter#DEFAULT_LOAD_FACTOR}): an
     * endpoint takes a request while its in-flight count stays within this times the average.
     */
    public Builder affinityLoadFactor(double loadFactor) {
      this.affinityLoadFactor = loadFactor;
      return this;
    }

    /** LOAD_AWARE: how often the servers' metrics are read (default 1 s). */
    public Builder loadPollInterval(Duration interval) {
      this.loadPollInterval = interval;
      return this;
    }

    /** Required. */
    public Builder retryPolicy(RetryPolicy retryPolicy) {
      this.retryPolicy = retryPolicy;
      return this;
    }

    /** The longest one attempt may take, whole stream included. Required. */
    public Builder attemptTimeout(Duration attemptTimeout) {
      this.attemptTimeout = attemptTimeout;
      return this;
    }

    /** Default {@link LlmResilienceSettings#defaults()}. */
    public Builder resilience(LlmResilienceSettings resilience) {
      this.resilience = resilience;
      return this;
    }

    public RoutedChatCaller build() {
      Objects.requireNonNull(client, "client is required but not provided.");
      Objects.requireNonNull(routing, "routing is required but not provided.");
      Objects.requireNonNull(retryPolicy, "retryPolicy is required but not provided.");
      Objects.requireNonNull(attemptTimeout, "attemptTimeout is required but not provided.");
      Objects.requireNonNull(resilience, "resilience is required but not provided.");
      // A LOAD_AWARE router starts its poller thread: closed again if the caller refuses a setting.
      EndpointRouter router =
          new EndpointRouter(endpoints, routing, resilience, affinityLoadFactor, loadPollInterval);
      try {
        return new RoutedChatCaller(client, router, retryPolicy, attemptTimeout, resilience);
      } catch (RuntimeException e) {
        router.close();
        throw e;
      }
    }
  }

  /** Retries made so far by this caller, for a metric. */
  public int retriesTotal() {
    return retriesTotal.get();
  }

  /** Calls begun so far. */
  public long callsTotal() {
    return callsTotal.get();
  }

  /** Calls ended with {@link LlmCallException#RETRY_BUDGET_EXHAUSTED}: retries not made. */
  public long retryBudgetRefusals() {
    return budgetRefusals.get();
  }

  /** Calls ended with {@link LlmCallException#CIRCUIT_OPEN}: every endpoint's breaker was open. */
  public long circuitOpenFailures() {
    return circuitOpenFailures.get();
  }

  /** Attempts cancelled for want of a first token ({@link LlmCallException#STREAM_IDLE}). */
  public long firstTokenTimeouts() {
    return client.firstTokenTimeouts();
  }

  /** Attempts cancelled because their stream went idle after the first token. */
  public long idleTimeouts() {
    return client.idleTimeouts();
  }

  /** Retry-After headers honoured (each paused its endpoint). */
  public long retryAfterPauses() {
    return retryAfterPauses.get();
  }

  /** Calls ended with {@link LlmCallException#CANCELLED} by {@link #close()}, or made after it. */
  public long cancelledCalls() {
    return cancelledCalls.get();
  }

  /** Calls in flight now (attempting or waiting to retry). */
  public int inFlightCalls() {
    return calls.size();
  }

  /** The router; its {@link EndpointRouter#endpoints()} carry each endpoint's breaker state. */
  public EndpointRouter router() {
    return router;
  }

  public LlmResilienceSettings settings() {
    return settings;
  }

  /**
   * Answers {@code call} before {@code deadlineMillis} (epoch ms). The future never fails;
   * cancelling it cancels the attempt in flight.
   */
  public CompletableFuture<LlmOutcome> call(ChatCall call, long deadlineMillis) {
    return call(call, deadlineMillis, AttemptListener.NONE);
  }

  /**
   * As {@link #call(ChatCall, long)}, telling {@code listener} of each attempt as it starts, and
   * the listener it returns of that attempt's text.
   */
  public CompletableFuture<LlmOutcome> call(
      ChatCall call, long deadlineMillis, AttemptListener listener) {
    Call state = new Call(call, deadlineMillis, Objects.requireNonNull(listener, "listener"));
    if (closed) {
      state.cancel("the LLM caller is closed");
      return state.outcome;
    }
    calls.add(state);
    state.outcome.whenComplete((ok, error) -> state.stop());
    callsTotal.incrementAndGet();
    budget.onCall();
    try {
      state.attempt(null);
    } catch (RuntimeException e) { // a bug: answer rather than fail the task or hang
      state.finish(
          null,
          new LlmCallException(LlmCallException.CLIENT, StreamingChatClient.describe(e), false),
          false,
          null);
    }
    if (closed) { // closed while this call started
      state.cancel("the LLM caller was closed");
    }
    return state.outcome;
  }

  /**
   * Cancels every call in flight (its outcome completes with {@link LlmCallException#CANCELLED})
   * and every retry timer, closes the client, and refuses later calls the same way.
   */
  @Override
  public void close() {
    closed = true;
    for (Call call : List.copyOf(calls)) {
      call.cancel("the LLM caller was closed (task cancelled or failing over)");
    }
    try {
      client.close();
      steps.shutdownNow();
    } finally {
      router.close();
    }
  }

  private static ThreadPoolExecutor retryThreads() {
    AtomicInteger number = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            4,
            4,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            task -> {
              Thread thread = new Thread(task, "llm-retry-" + number.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private final class Call {
    final ChatCall call;
    final long deadlineMillis;
    final AttemptListener listener;
    final long startNanos = System.nanoTime();
    final CompletableFuture<LlmOutcome> outcome = new CompletableFuture<>();
    volatile CompletableFuture<ChatCompletion> current;
    volatile ScheduledFuture<?> timer;
    // Attempts run one after another, each started after the last one ended.
    volatile int failures;
    volatile LlmCallException lastFailure;
    volatile EndpointRouter.Endpoint lastEndpoint;
    // Hashed once per call, for every attempt; only when the policy routes by them.
    final PrefixBlocks.Prefix prefix;

    Call(ChatCall call, long deadlineMillis, AttemptListener listener) {
      this.call = call;
      this.deadlineMillis = deadlineMillis;
      this.listener = listener;
      this.prefix = router.usesPrefixes() ? PrefixBlocks.of(call.model(), call.messages()) : null;
    }

    void attempt(EndpointRouter.Endpoint avoid) {
      if (outcome.isDone()) {
        return;
      }
      long remaining = deadlineMillis - System.currentTimeMillis();
      if (remaining <= 0) {
        finish(null, timeout(), true, lastEndpoint);
        return;
      }
      EndpointRouter.Choice choice = router.choose(avoid, prefix);
      if (!choice.found()) {
        unavailable(choice, avoid, remaining);
        return;
      }
      EndpointRouter.Endpoint endpoint = choice.endpoint();
      lastEndpoint = endpoint;
      long limit = Math.min(remaining, attemptTimeout.toMillis());
      TextListener text = listen(endpoint);
      long attemptStart = System.nanoTime();
      CompletableFuture<ChatCompletion> attempt;
      try {
        attempt =
            client.stream(
                    endpoint.baseUrl(),
                    call,
                    text,
                    settings.firstTokenTimeout(),
                    settings.idleTimeout())
                .orTimeout(limit, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        attempt = CompletableFuture.failedFuture(e);
      }
      current = attempt;
      if (outcome.isDone()) { // settled (cancelled) while this attempt started: stop it now
        attempt.cancel(true);
      }
      attempt.whenComplete(
          (completion, error) -> {
            long took = System.nanoTime() - attemptStart;
            if (error == null) {
              router.release(endpoint, AttemptResult.SUCCESS, took);
              finish(completion, null, false, endpoint);
              return;
            }
            LlmCallException failure = classify(StreamingChatClient.unwrap(error));
            router.release(endpoint, verdict(failure), took);
            failed(failure, endpoint);
          });
    }

    /** No endpoint may be called now: wait for a paused one, or end the call. */
    void unavailable(EndpointRouter.Choice choice, EndpointRouter.Endpoint avoid, long remaining) {
      if (choice.waitNanos() != Long.MAX_VALUE) {
        long wait = ceilMillis(choice.waitNanos());
        if (wait < remaining) {
          later(wait, () -> attempt(avoid));
          return;
        }
        LlmCallException failure = lastFailure;
        finish(
            null,
            failure != null
                ? failure
                : new LlmCallException(
                    LlmCallException.RETRY_AFTER,
                    "every LLM endpoint asked for a pause (Retry-After) that outlasts the"
                        + " request's deadline",
                    true),
            false,
            lastEndpoint);
        return;
      }
      circuitOpenFailures.incrementAndGet();
      LlmCallException last = lastFailure;
      finish(
          null,
          new LlmCallException(
              LlmCallException.CIRCUIT_OPEN,
              "every LLM endpoint's circuit breaker is open (their recent attempts failed);"
                  + " no request sent"
                  + (last == null
                      ? ""
                      : "; last failure " + last.code() + ": " + last.getMessage()),
              true),
          false,
          lastEndpoint);
    }

    /** The attempt's text listener; a listener that fails to start costs only its own text. */
    TextListener listen(EndpointRouter.Endpoint endpoint) {
      try {
        TextListener text = listener.attemptStarted(failures + 1, endpoint.baseUrl());
        return text == null ? TextListener.NONE : text;
      } catch (RuntimeException e) {
        return TextListener.NONE;
      }
    }

    LlmCallException classify(Throwable error) {
      if (error instanceof LlmCallException known) {
        return known;
      }
      if (error instanceof TimeoutException) {
        return System.currentTimeMillis() >= deadlineMillis
            ? timeout()
            : new LlmCallException(
                LlmCallException.ATTEMPT_TIMEOUT, "no answer within " + attemptTimeout, true);
      }
      if (error instanceof CancellationException) {
        return new LlmCallException(LlmCallException.CANCELLED, "the attempt was cancelled", true);
      }
      return new LlmCallException(
          LlmCallException.CLIENT, StreamingChatClient.describe(error), false);
    }

    void failed(LlmCallException failure, EndpointRouter.Endpoint endpoint) {
      lastFailure = failure;
      honourRetryAfter(failure, endpoint);
      if (outcome.isDone()) {
        return;
      }
      if (failure.code().equals(LlmCallException.CANCELLED)) { // the client was closed under us
        cancel(failure.getMessage());
        return;
      }
      long now = System.currentTimeMillis();
      boolean pastDeadline = now >= deadlineMillis;
      if (!failure.retryable() || pastDeadline || failures + 1 >= retryPolicy.maxAttempts()) {
        finish(null, failure, pastDeadline, endpoint);
        return;
      }
      long backoff = retryPolicy.backoffMillis(failures + 1, ThreadLocalRandom.current());
      long paused = router.nanosUntilUnpaused();
      long delay = paused == Long.MAX_VALUE ? backoff : Math.max(backoff, ceilMillis(paused));
      if (now + delay >= deadlineMillis) { // no sleeping into a timeout: end with the failure
        finish(null, failure, false, endpoint);
        return;
      }
      if (!budget.tryRetry()) {
        budgetRefusals.incrementAndGet();
        LlmCallException spent =
            new LlmCallException(
                LlmCallException.RETRY_BUDGET_EXHAUSTED,
                "retry budget spent (retries are limited to "
                    + settings.retryBudgetRatio()
                    + " per call over "
                    + settings.retryBudgetWindow()
                    + "); the attempt failed with "
                    + failure.code()
                    + ": "
                    + failure.getMessage(),
                true);
        spent.initCause(failure);
        finish(null, spent, false, endpoint);
        return;
      }
      failures++;
      retriesTotal.incrementAndGet();
      later(delay, () -> attempt(endpoint));
    }

    /** A 429 or 503's Retry-After pauses its endpoint, up to the cap. */
    void honourRetryAfter(LlmCallException failure, EndpointRouter.Endpoint endpoint) {
      int status = failure.httpStatus();
      if ((status != 429 && status != 503)
          || failure.retryAfter().isEmpty()
          || settings.maxRetryAfter().isZero()) {
        return;
      }
      Duration asked = failure.retryAfter().get();
      Duration pause =
          asked.compareTo(settings.maxRetryAfter()) > 0 ? settings.maxRetryAfter() : asked;
      if (!pause.isZero()) {
        router.pause(endpoint, pause);
        retryAfterPauses.incrementAndGet();
      }
    }

    /**
     * Runs {@code step} after {@code delayMillis}: the client's timer thread fires it and hands it
     * to the caller's retry threads, so an attempt listener that blocks (a Kafka producer waiting
     * for a broker) delays no idle watch.
     */
    void later(long delayMillis, Runnable step) {
      Runnable guarded =
          () -> {
            try {
              step.run();
            } catch (RuntimeException e) { // a bug: answer rather than hang
              finish(
                  null,
                  new LlmCallException(
                      LlmCallException.CLIENT, StreamingChatClient.describe(e), false),
                  false,
                  lastEndpoint);
            }
          };
      ScheduledFuture<?> scheduled;
      try {
        scheduled =
            client
                .timers()
                .schedule(
                    () -> {
                      if (!outcome.isDone()) {
                        try {
                          steps.execute(guarded);
                        } catch (RejectedExecutionException e) { // closed meanwhile
                          cancel("the LLM caller was closed");
                        }
                      }
                    },
                    delayMillis,
                    TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) { // the client is closed
        cancel("the LLM caller was closed");
        return;
      }
      timer = scheduled;
      if (outcome.isDone()) {
        scheduled.cancel(false);
      }
    }

    LlmCallException timeout() {
      return new LlmCallException(
          LlmCallException.TIMEOUT, "no answer before the request's deadline", true);
    }

    void cancel(String why) {
      cancelledCalls.incrementAndGet(); // first: completing runs callbacks that may read it
      if (!finish(null, new LlmCallException(LlmCallException.CANCELLED, why, true), false, null)) {
        cancelledCalls.decrementAndGet(); // it had ended meanwhile
      }
    }

    /** The outcome is settled (by any path): stop the attempt in flight and the retry timer. */
    void stop() {
      calls.remove(this);
      ScheduledFuture<?> pending = timer;
      if (pending != null) {
        pending.cancel(false);
      }
      CompletableFuture<ChatCompletion> attempt = current;
      if (attempt != null) {
        attempt.cancel(true);
      }
    }

    boolean finish(
        ChatCompletion completion,
        LlmCallException failure,
        boolean timedOut,
        EndpointRouter.Endpoint endpoint) {
      EndpointRouter.Endpoint reported = endpoint != null ? endpoint : lastEndpoint;
      return outcome.complete(
          new LlmOutcome(
              completion,
              failure,
              timedOut,
              reported == null ? null : reported.baseUrl().toString(),
              failures,
              (System.nanoTime() - startNanos) / 1e6));
    }
  }

  /** How an attempt's end counts for its endpoint's circuit breaker. */
  static AttemptResult verdict(LlmCallException failure) {
    String code = failure.code();
    int status = failure.httpStatus();
    if (status == 429
        || code.equals(LlmCallException.TIMEOUT)
        || code.equals(LlmCallException.CANCELLED)
        || code.equals(LlmCallException.CLIENT)) {
      return AttemptResult.IGNORED; // backpressure, or nothing the endpoint did
    }
    if (!failure.retryable()) {
      return AttemptResult.SUCCESS; // a client error: the endpoint is up and answering
    }
    return AttemptResult.FAILURE;
  }

  private static long ceilMillis(long nanos) {
    return (nanos + 999_999) / 1_000_000;
  }
}
