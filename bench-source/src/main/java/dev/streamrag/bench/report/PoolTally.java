package dev.streamrag.bench.report;

import dev.streamrag.jobs.llm.pools.ModelPool;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's measured responses tallied by the LLM pool that gave the final answer, and each pool
 * priced as provisioned: what its servers cost for the run's duration, shared among the requests it
 * served. A pool of the pools file that served nothing is listed all the same, because its servers
 * were paid for.
 */
final class PoolTally {
  /** The group of responses no LLM call made (cache hits, rejected requests). */
  static final String NONE = "none (no LLM call)";

  private final Map<String, ModelPool> pools = new LinkedHashMap<>();
  private final Map<String, Tally> tallies = new LinkedHashMap<>();
  private final Map<String, Tally> unknown = new TreeMap<>();
  private final Tally none = new Tally();

  PoolTally(List<ModelPool> pools) {
    for (ModelPool pool : pools) {
      this.pools.put(pool.name(), pool);
      tallies.put(pool.name(), new Tally());
    }
  }

  /**
   * @param pool the response's {@code llmPool}, null when no LLM call was made
   * @param ok whether the response is OK: only OK responses count for the latencies
   * @param good whether it met the SLO
   * @param e2e the headline end-to-end latency in ms, null when unknown
   * @param ttft the headline time to first token in ms, null when unknown
   */
  void add(String pool, boolean ok, boolean good, Double e2e, Double ttft) {
    Tally tally =
        pool == null
            ? none
            : tallies.containsKey(pool)
                ? tallies.get(pool)
                : unknown.computeIfAbsent(pool, p -> new Tally());
    tally.add(ok, good, e2e, ttft);
  }

  /**
   * The pools of the file in its order, then pools it does not know (unpriced), then {@link #NONE}.
   */
  Map<String, RunReport.PoolUse> uses(double runSeconds) {
    Map<String, RunReport.PoolUse> uses = new LinkedHashMap<>();
    tallies.forEach(
        (name, tally) -> uses.put(name, tally.use(pools.get(name).usdPerHour(), runSeconds)));
    unknown.forEach((name, tally) -> uses.put(name, tally.use(Double.NaN, runSeconds)));
    if (none.requests > 0) {
      uses.put(NONE, none.use(Double.NaN, runSeconds));
    }
    return uses;
  }

  /**
   * What the priced pools cost the run per 1000 good requests (good ones from every group, cache
   * hits included); NaN when no pool is priced or nothing was good.
   */
  static double usdPer1kGood(Map<String, RunReport.PoolUse> uses, long good) {
    double usd = 0;
    boolean priced = false;
    for (RunReport.PoolUse use : uses.values()) {
      if (!Double.isNaN(use.usdForRun())) {
        usd += use.usdForRun();
        priced = true;
      }
    }
    return priced ? per(usd, good) * 1000 : Double.NaN;
  }

  private static double per(double usd, long count) {
    return count == 0 ? Double.NaN : usd / count;
  }

  /** One group's counts and latencies. */
  private static final class Tally {
    private long requests;
    private long ok;
    private long good;
    private final LatencyStats e2e = new LatencyStats();
    private final LatencyStats ttft = new LatencyStats();

    void add(boolean isOk, boolean isGood, Double e2eMillis, Double ttftMillis) {
      requests++;
      if (isGood) {
        good++;
      }
      if (!isOk) {
        return;
      }
      ok++;
      if (e2eMillis != null) {
        e2e.record(e2eMillis);
      }
      if (ttftMillis != null) {
        ttft.record(ttftMillis);
      }
    }

    RunReport.PoolUse use(double usdPerHour, double runSeconds) {
      double usd = usdPerHour * runSeconds / 3600;
      return new RunReport.PoolUse(
          requests,
          ok,
          good,
          e2e.percentile(50),
          e2e.percentile(99),
          ttft.percentile(50),
          usdPerHour,
          usd,
          per(usd, requests),
          per(usd, good) * 1000);
    }
  }
}
