package dev.streamrag.jobs.llm.pools;

import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.schemas.RequestKind;
import java.io.Serializable;
import java.util.List;

/**
 * A set of LLM servers of one kind: the models they serve, their hardware and price, how a request
 * is routed among them, and what they take.
 *
 * @param name how responses, metrics and the report name it ({@code [a-z0-9-]+})
 * @param models the model names its servers answer to
 * @param endpoints the servers' base URLs
 * @param hardware GPU or CPU
 * @param instance what one server runs on, priced; null only for the pool an installation without a
 *     pools file has (no cost is reported)
 * @param routing how an endpoint of the pool is chosen
 * @param contextWindow the servers' context window in tokens (prompt + answer)
 * @param maxConcurrency requests one server takes at once (its slots or max_num_seqs) before the
 *     pool counts as full; 0 for no limit
 * @param maxPromptTokens the longest prompt the pool takes (a CPU's slow prefill); 0 for no limit
 * @param kinds the request kinds it takes; empty for every kind
 */
public record ModelPool(
    String name,
    List<String> models,
    List<String> endpoints,
    Hardware hardware,
    PriceTable.Instance instance,
    RoutingPolicy routing,
    int contextWindow,
    int maxConcurrency,
    int maxPromptTokens,
    List<RequestKind> kinds)
    implements Serializable {

  /** What a pool's servers run on. */
  public enum Hardware {
    GPU,
    CPU
  }

  public ModelPool {
    models = List.copyOf(models);
    endpoints = List.copyOf(endpoints);
    kinds = List.copyOf(kinds);
  }

  /** The pool an installation without a pools file has: every endpoint, every model. */
  public static ModelPool single(
      List<String> models, List<String> endpoints, RoutingPolicy routing, int contextWindow) {
    return new ModelPool(
        "default", models, endpoints, Hardware.GPU, null, routing, contextWindow, 0, 0, List.of());
  }

  /** Dollars per hour for all its servers, or NaN when its instance is not priced. */
  public double usdPerHour() {
    return instance == null ? Double.NaN : instance.usdPerHour() * endpoints.size();
  }

  public boolean takes(RequestKind kind) {
    return kinds.isEmpty() || kind == null || kinds.contains(kind);
  }

  /**
   * Requests this task may have in flight on the pool before it counts as full: its servers' slots
   * shared among the job's parallel tasks (rounded up, so every task can use the pool).
   */
  public int capacityPerTask(int parallelism) {
    if (maxConcurrency == 0) {
      return Integer.MAX_VALUE;
    }
    long slots = (long) maxConcurrency * endpoints.size();
    long share = (slots + parallelism - 1) / Math.max(1, parallelism);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, share));
  }
}
