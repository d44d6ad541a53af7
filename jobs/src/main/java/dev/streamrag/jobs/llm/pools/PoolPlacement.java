package dev.streamrag.jobs.llm.pools;

import dev.streamrag.schemas.RequestKind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which pools a request goes to, in order: the first is called, the others take over if it fails.
 *
 * <p>The default, documented in the README: pools are considered in the order configured (cheapest
 * first, as a rule: CPU before GPU). A pool is <em>eligible</em> if it serves the request's model,
 * takes its kind, and fits it: prompt tokens within {@code maxPromptTokens}, prompt plus answer
 * tokens within {@code contextWindow}. Among the eligible pools, those with an endpoint that can be
 * called (not every breaker open) and room (this task's requests in flight below its share of the
 * pool's slots) come first, in configured order; then the full ones, least loaded first (the
 * overflow: CPU full, so GPU); then those whose every endpoint is failing, so the call still ends
 * with the endpoints' own error.
 */
public final class PoolPlacement {
  private PoolPlacement() {}

  /** What placement knows of a pool now, in this task. */
  public interface PoolState {
    /** Requests this task has in flight on the pool. */
    int inFlight();

    /** Requests this task may have in flight before the pool counts as full. */
    int capacity();

    /** Whether some endpoint can be called (its breaker is not open). */
    boolean reachable();
  }

  /** What placement knows of a request. */
  public record Request(String model, RequestKind kind, int promptTokens, int maxTokens) {}

  /**
   * Pools to try, by index in configuration order; or, when none is eligible, the status code and
   * reason the request is rejected with.
   */
  public record Decision(List<Integer> order, String rejectCode, String reason) {
    public boolean placed() {
      return !order.isEmpty();
    }

    static Decision reject(String code, String reason) {
      return new Decision(List.of(), code, reason);
    }
  }

  public static final String UNKNOWN_MODEL = "validation.unknown_model";
  public static final String NO_POOL_FITS = "validation.no_pool_fits";

  public static Decision place(
      List<ModelPool> pools, List<? extends PoolState> states, Request request) {
    List<Integer> serving = new ArrayList<>();
    for (int i = 0; i < pools.size(); i++) {
      if (pools.get(i).models().contains(request.model())) {
        serving.add(i);
      }
    }
    if (serving.isEmpty()) {
      return Decision.reject(
          UNKNOWN_MODEL,
          "model '"
              + request.model()
              + "' is served by no pool; models available: "
              + models(pools));
    }
    List<Integer> eligible = new ArrayList<>();
    List<String> whyNot = new ArrayList<>();
    for (int i : serving) {
      String reason = misfit(pools.get(i), request);
      if (reason == null) {
        eligible.add(i);
      } else {
        whyNot.add(pools.get(i).name() + ": " + reason);
      }
    }
    if (eligible.isEmpty()) {
      return Decision.reject(
          NO_POOL_FITS,
          "no pool serving '"
              + request.model()
              + "' takes this request ("
              + String.join("; ", whyNot)
              + ")");
    }
    List<Integer> order = new ArrayList<>();
    List<Integer> full = new ArrayList<>();
    List<Integer> down = new ArrayList<>();
    for (int i : eligible) {
      PoolState state = states.get(i);
      if (!state.reachable()) {
        down.add(i);
      } else if (state.inFlight() < state.capacity()) {
        order.add(i);
      } else {
        full.add(i);
      }
    }
    full.sort(Comparator.comparingDouble(i -> load(states.get(i))));
    order.addAll(full);
    order.addAll(down);
    return new Decision(List.copyOf(order), null, null);
  }

  /** Why the pool cannot take the request, or null if it can. */
  static String misfit(ModelPool pool, Request request) {
    if (!pool.takes(request.kind())) {
      return "takes " + pool.kinds() + ", not " + request.kind();
    }
    if (pool.maxPromptTokens() > 0 && request.promptTokens() > pool.maxPromptTokens()) {
      return "prompt of about "
          + request.promptTokens()
          + " tokens is over its maxPromptTokens "
          + pool.maxPromptTokens();
    }
    if ((long) request.promptTokens() + request.maxTokens() > pool.contextWindow()) {
      return "prompt of about "
          + request.promptTokens()
          + " tokens + maxTokens "
          + request.maxTokens()
          + " exceed its context window "
          + pool.contextWindow();
    }
    return null;
  }

  private static double load(PoolState state) {
    return state.capacity() == Integer.MAX_VALUE
        ? 0
        : (double) state.inFlight() / Math.max(1, state.capacity());
  }

  private static Set<String> models(List<ModelPool> pools) {
    Set<String> models = new LinkedHashSet<>();
    pools.forEach(pool -> models.addAll(pool.models()));
    return models;
  }
}
