package dev.streamrag.jobs.resilience;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A circuit breaker (resilience4j) in front of an optional service such as the cache or the
 * retriever: once most recent calls failed, calls fail at once for a while instead of each waiting
 * out its timeout, so a service that hangs (accepts connections, never answers) costs requests
 * nothing while it is open; then a few probe calls decide whether it closes again.
 *
 * <p>Defaults: a window of the last 20 calls, judged after 10, opening at 50% failures, open for 5
 * s, 3 probes when half-open.
 */
public final class ServiceBreaker {
  /** A call refused because the breaker is open. */
  public static final class OpenException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    OpenException(String name) {
      super(name + " circuit open: recent calls failed; not called until it recovers", null);
    }
  }

  private final String name;
  private final CircuitBreaker breaker;

  private ServiceBreaker(String name, CircuitBreakerConfig config) {
    this.name = name;
    this.breaker = CircuitBreaker.of(name, config);
  }

  /** A breaker with the defaults, open for {@code openFor} after it trips; every error counts. */
  public static ServiceBreaker of(String name, Duration openFor) {
    return of(name, openFor, error -> true);
  }

  /**
   * As {@link #of(String, Duration)}, counting only the errors {@code countsAsFailure} accepts
   * (given the root cause): a caller's own mistake, such as a 4xx, says nothing about the service's
   * health and must not open the breaker for everyone.
   */
  public static ServiceBreaker of(
      String name, Duration openFor, Predicate<Throwable> countsAsFailure) {
    return new ServiceBreaker(
        name,
        CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(20)
            .minimumNumberOfCalls(10)
            .failureRateThreshold(50)
            .waitDurationInOpenState(openFor)
            .permittedNumberOfCallsInHalfOpenState(3)
            .ignoreException(error -> !countsAsFailure.test(rootCause(error)))
            .build());
  }

  /**
   * {@code call} if the breaker lets it through, its outcome recorded; else a future failed at once
   * with {@link OpenException}.
   */
  public <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> call) {
    if (!breaker.tryAcquirePermission()) {
      return CompletableFuture.failedFuture(new OpenException(name));
    }
    long start = System.nanoTime();
    CompletableFuture<T> future;
    try {
      future = call.get();
    } catch (RuntimeException e) {
      breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
      return CompletableFuture.failedFuture(e);
    }
    return future.whenComplete(
        (value, error) -> {
          long took = System.nanoTime() - start;
          if (error == null) {
            breaker.onSuccess(took, TimeUnit.NANOSECONDS);
          } else {
            breaker.onError(took, TimeUnit.NANOSECONDS, error);
          }
        });
  }

  private static Throwable rootCause(Throwable error) {
    Throwable cause = error;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** Records the outcome of a call whose failure shows in its value, not as an exception. */
  public void record(boolean success, long tookNanos) {
    if (success) {
      breaker.onSuccess(tookNanos, TimeUnit.NANOSECONDS);
    } else {
      breaker.onError(tookNanos, TimeUnit.NANOSECONDS, new IllegalStateException(name + " failed"));
    }
  }

  /** Whether a call would be let through now (without taking a permission). */
  public boolean isOpen() {
    return breaker.getState() == CircuitBreaker.State.OPEN
        || breaker.getState() == CircuitBreaker.State.FORCED_OPEN;
  }

  /** 0 closed, 1 half-open, 2 open: a gauge. */
  public int stateCode() {
    return switch (breaker.getState()) {
      case CLOSED, DISABLED, METRICS_ONLY -> 0;
      case HALF_OPEN -> 1;
      case OPEN, FORCED_OPEN -> 2;
    };
  }
}
