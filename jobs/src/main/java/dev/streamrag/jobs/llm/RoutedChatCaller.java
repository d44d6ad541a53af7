package dev.streamrag.jobs.llm;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Calls the LLM the way the inference job needs it: an endpoint chosen by the {@link
 * EndpointRouter} per attempt (another one after a failure, when there is one), retries with
 * jittered backoff on retryable failures (429, 5xx, lost connections, broken streams), and nothing
 * allowed past the request's deadline: the attempt in flight is cancelled, and the call ends as
 * timed out.
 */
public final class RoutedChatCaller {
  private final StreamingChatClient client;
  private final EndpointRouter router;
  private final RetryPolicy retryPolicy;
  private final Duration attemptTimeout;
  private final AtomicInteger retriesTotal = new AtomicInteger();

  public RoutedChatCaller(
      StreamingChatClient client,
      EndpointRouter router,
      RetryPolicy retryPolicy,
      Duration attemptTimeout) {
    this.client = Objects.requireNonNull(client, "client");
    this.router = Objects.requireNonNull(router, "router");
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
    this.attemptTimeout = Objects.requireNonNull(attemptTimeout, "attemptTimeout");
  }

  /** Retries made so far by this caller, for a metric. */
  public int retriesTotal() {
    return retriesTotal.get();
  }

  public EndpointRouter router() {
    return router;
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
    state.attempt(null);
    state.outcome.whenComplete(
        (ok, error) -> {
          CompletableFuture<ChatCompletion> attempt = state.current.get();
          if (attempt != null) {
            attempt.cancel(true);
          }
        });
    return state.outcome;
  }

  private final class Call {
    final ChatCall call;
    final long deadlineMillis;
    final AttemptListener listener;
    final long startNanos = System.nanoTime();
    final CompletableFuture<LlmOutcome> outcome = new CompletableFuture<>();
    final AtomicReference<CompletableFuture<ChatCompletion>> current = new AtomicReference<>();
    int failures;

    Call(ChatCall call, long deadlineMillis, AttemptListener listener) {
      this.call = call;
      this.deadlineMillis = deadlineMillis;
      this.listener = listener;
    }

    void attempt(EndpointRouter.Endpoint avoid) {
      long remaining = deadlineMillis - System.currentTimeMillis();
      if (remaining <= 0) {
        finish(null, timeout(), true, avoid);
        return;
      }
      if (outcome.isDone()) {
        return;
      }
      EndpointRouter.Endpoint endpoint = router.acquire(avoid);
      long limit = Math.min(remaining, attemptTimeout.toMillis());
      TextListener text = listen(endpoint);
      CompletableFuture<ChatCompletion> attempt =
          client.stream(endpoint.baseUrl(), call, text).orTimeout(limit, TimeUnit.MILLISECONDS);
      current.set(attempt);
      if (outcome.isDone()) { // settled (cancelled) while this attempt started: stop it now
        attempt.cancel(true);
      }
      attempt.whenComplete(
          (completion, error) -> {
            router.release(endpoint);
            if (error == null) {
              finish(completion, null, false, endpoint);
            } else {
              failed(StreamingChatClient.unwrap(error), endpoint);
            }
          });
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

    void failed(Throwable error, EndpointRouter.Endpoint endpoint) {
      boolean pastDeadline = System.currentTimeMillis() >= deadlineMillis;
      LlmCallException failure;
      if (error instanceof LlmCallException known) {
        failure = known;
      } else if (error instanceof TimeoutException) {
        failure =
            pastDeadline
                ? timeout()
                : new LlmCallException(
                    "llm.attempt_timeout", "no answer within " + attemptTimeout, true);
      } else {
        failure = new LlmCallException("llm.client", StreamingChatClient.describe(error), false);
      }
      if (!failure.retryable() || pastDeadline || failures + 1 >= retryPolicy.maxAttempts()) {
        finish(null, failure, pastDeadline, endpoint);
        return;
      }
      long backoff = retryPolicy.backoffMillis(failures + 1, ThreadLocalRandom.current());
      if (System.currentTimeMillis() + backoff >= deadlineMillis) {
        finish(null, failure, false, endpoint);
        return;
      }
      failures++;
      retriesTotal.incrementAndGet();
      CompletableFuture.delayedExecutor(backoff, TimeUnit.MILLISECONDS)
          .execute(() -> attempt(endpoint));
    }

    LlmCallException timeout() {
      return new LlmCallException("llm.timeout", "no answer before the request's deadline", true);
    }

    void finish(
        ChatCompletion completion,
        LlmCallException failure,
        boolean timedOut,
        EndpointRouter.Endpoint endpoint) {
      outcome.complete(
          new LlmOutcome(
              completion,
              failure,
              timedOut,
              endpoint == null ? null : endpoint.baseUrl().toString(),
              failures,
              (System.nanoTime() - startNanos) / 1e6));
    }
  }
}
