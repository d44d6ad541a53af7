package dev.streamrag.jobs.llm.pools;

import dev.streamrag.jobs.llm.AttemptListener;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.LlmCallException;
import dev.streamrag.jobs.llm.LlmOutcome;
import dev.streamrag.jobs.llm.RoutedChatCaller;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * LLM calls over several pools: {@link PoolPlacement} orders the pools for each request, the first
 * is called through its own {@link RoutedChatCaller} (its routing, retries and breakers), and
 * should that call fail with a retryable error before the deadline, the next pool takes over: a
 * pool whose every endpoint is down costs a request its pool's retries, not its answer.
 */
public final class PooledChatCaller implements AutoCloseable {
  private final List<ModelPool> pools;
  private final List<Pool> states;
  private final AtomicLong failovers = new AtomicLong();

  /**
   * A call's outcome and the pool its last attempt went to.
   *
   * @param failovers pools that failed the call before this one
   * @param earlierFailedAttempts the attempts those pools made, all failed
   */
  public record Pooled(
      ModelPool pool, LlmOutcome outcome, int failovers, int earlierFailedAttempts) {
    /** Failed attempts before the final one, over every pool. */
    public int retries() {
      return earlierFailedAttempts + (outcome == null ? 0 : outcome.retries());
    }
  }

  /** One pool's caller and what placement reads of it. */
  public static final class Pool implements PoolPlacement.PoolState {
    private final ModelPool spec;
    private final RoutedChatCaller caller;
    private final int capacity;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong calls = new AtomicLong();

    Pool(ModelPool spec, RoutedChatCaller caller, int capacity) {
      this.spec = spec;
      this.caller = caller;
      this.capacity = capacity;
    }

    public ModelPool spec() {
      return spec;
    }

    public RoutedChatCaller caller() {
      return caller;
    }

    @Override
    public int inFlight() {
      return inFlight.get();
    }

    @Override
    public int capacity() {
      return capacity;
    }

    @Override
    public boolean reachable() {
      return caller.router().anyEndpointCallable();
    }

    /** Calls placed on this pool, failovers included. */
    public long calls() {
      return calls.get();
    }
  }

  /**
   * @param callers builds each pool's caller (its endpoints and routing)
   * @param parallelism the job's parallel tasks, which share each pool's slots
   */
  public PooledChatCaller(
      List<ModelPool> pools, Function<ModelPool, RoutedChatCaller> callers, int parallelism) {
    if (pools.isEmpty()) {
      throw new IllegalArgumentException("at least one LLM pool is needed");
    }
    this.pools = List.copyOf(pools);
    List<Pool> built = new ArrayList<>();
    try {
      for (ModelPool pool : pools) {
        built.add(new Pool(pool, callers.apply(pool), pool.capacityPerTask(parallelism)));
      }
    } catch (RuntimeException e) {
      built.forEach(pool -> pool.caller.close());
      throw e;
    }
    this.states = List.copyOf(built);
  }

  public List<Pool> pools() {
    return states;
  }

  /** Calls that failed on one pool and were made again on the next. */
  public long failovers() {
    return failovers.get();
  }

  public PoolPlacement.Decision place(PoolPlacement.Request request) {
    return PoolPlacement.place(pools, states, request);
  }

  /**
   * Answers {@code call} on the pools of {@code decision}, which must be placed. The future never
   * fails; cancelling it cancels the attempt in flight.
   */
  public CompletableFuture<Pooled> call(
      PoolPlacement.Decision decision,
      ChatCall call,
      long deadlineMillis,
      AttemptListener listener) {
    return call(decision, call, deadlineMillis, listener, pool -> {});
  }

  /**
   * As above, telling {@code poolCalled} of each pool as the call moves to it: whoever gives up on
   * the call (Flink's timeout) can still say which pool had it.
   */
  public CompletableFuture<Pooled> call(
      PoolPlacement.Decision decision,
      ChatCall call,
      long deadlineMillis,
      AttemptListener listener,
      Consumer<ModelPool> poolCalled) {
    if (!decision.placed()) {
      throw new IllegalArgumentException("the request was not placed: " + decision.reason());
    }
    Attempts attempts = new Attempts(decision.order(), call, deadlineMillis, listener, poolCalled);
    attempts.next(0, 0);
    return attempts.result;
  }

  /** One request's calls, pool after pool. */
  private final class Attempts {
    final List<Integer> order;
    final ChatCall call;
    final long deadlineMillis;
    final AttemptListener listener;
    final Consumer<ModelPool> poolCalled;
    final CompletableFuture<Pooled> result = new CompletableFuture<>();
    volatile CompletableFuture<LlmOutcome> current;

    Attempts(
        List<Integer> order,
        ChatCall call,
        long deadlineMillis,
        AttemptListener listener,
        Consumer<ModelPool> poolCalled) {
      this.order = order;
      this.call = call;
      this.deadlineMillis = deadlineMillis;
      this.listener = listener;
      this.poolCalled = poolCalled;
      // Cancelling the request's future stops the call in flight on whichever pool it is.
      result.whenComplete(
          (ok, error) -> {
            CompletableFuture<LlmOutcome> running = current;
            if (result.isCancelled() && running != null) {
              running.cancel(true);
            }
          });
    }

    /**
     * Calls the pool at {@code position}. Runs on the caller's thread first, then on an HTTP
     * client's thread after a failure; whatever goes wrong there still completes the result.
     */
    void next(int position, int failedAttempts) {
      Pool pool = states.get(order.get(position));
      CompletableFuture<LlmOutcome> outcome;
      try {
        poolCalled.accept(pool.spec);
        outcome = pool.caller.call(call, deadlineMillis, listener);
      } catch (RuntimeException e) { // a bug: answer with it rather than leave the call hanging
        result.complete(
            new Pooled(
                pool.spec,
                new LlmOutcome(
                    null,
                    new LlmCallException(
                        LlmCallException.CLIENT,
                        "the LLM call could not start: " + e.getClass().getSimpleName(),
                        false),
                    false,
                    null,
                    0,
                    0),
                position,
                failedAttempts));
        return;
      }
      pool.inFlight.incrementAndGet();
      pool.calls.incrementAndGet();
      current = outcome;
      if (result.isCancelled()) {
        outcome.cancel(true);
      }
      outcome.whenComplete(
          (answer, error) -> {
            pool.inFlight.decrementAndGet();
            if (answer != null
                && failsOver(answer)
                && position + 1 < order.size()
                && System.currentTimeMillis() < deadlineMillis
                && !result.isDone()) {
              failovers.incrementAndGet();
              next(position + 1, failedAttempts + answer.retries() + 1);
              return;
            }
            result.complete(new Pooled(pool.spec, answer, position, failedAttempts));
          });
    }
  }

  /** A failure another pool may not share: the servers', not the request's or the deadline's. */
  static boolean failsOver(LlmOutcome outcome) {
    return !outcome.ok()
        && !outcome.timedOut()
        && !outcome.cancelled()
        && outcome.failure() != null
        && outcome.failure().retryable();
  }

  @Override
  public void close() {
    RuntimeException first = null;
    for (Pool pool : states) {
      try {
        pool.caller.close();
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
