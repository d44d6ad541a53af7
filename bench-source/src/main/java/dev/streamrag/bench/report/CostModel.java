package dev.streamrag.bench.report;

import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PoolsFile;
import dev.streamrag.jobs.llm.pools.PriceTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Dollars per 1k requests and per 1M output tokens for each instance type of a price table, from a
 * run's measured rates. The assumption, printed with the table: one instance of the type sustains
 * the measured rate (the llm-sim profile names the GPU it models; its own machine is what is priced
 * for CPU-only types). Beside it, the LLM pools the run was served by, priced from the same table.
 */
public final class CostModel {
  /**
   * What a pool leaves out of the pools file. The report reads only names, instances and endpoints,
   * so these never change a figure; they are there because the parser fills them in. The window is
   * unbounded so that no maxPromptTokens the job accepted (its llm.context-window may be larger) is
   * refused here.
   */
  private static final PoolsFile.Defaults POOL_DEFAULTS =
      new PoolsFile.Defaults(RoutingPolicy.LEAST_OUTSTANDING, Integer.MAX_VALUE);

  private final PriceTable table;
  private final List<ModelPool> pools;

  public CostModel(PriceTable table, List<ModelPool> pools) {
    this.table = table;
    this.pools = List.copyOf(pools);
  }

  /** The price of a run's work on one instance type. */
  public record Cost(
      String cloud,
      String type,
      String hardware,
      double usdPerHour,
      double usdPer1kRequests,
      double usdPer1mOutputTokens) {}

  /** The bundled list prices, or {@code file} if given: the table LLM pools are priced from. */
  public static CostModel load(Path file) {
    return load(file, null);
  }

  /**
   * As {@link #load(Path)}, with the pools of {@code poolsFile} (null: none) priced from that
   * table. A bad pools file is refused with the parser's message, which names the key.
   */
  public static CostModel load(Path pricesFile, Path poolsFile) {
    PriceTable table = PriceTable.load(pricesFile);
    return new CostModel(
        table, poolsFile == null ? List.of() : PoolsFile.load(poolsFile, table, POOL_DEFAULTS));
  }

  /** The pools of the pools file, in its order; empty without one. */
  public List<ModelPool> pools() {
    return pools;
  }

  /**
   * @param requestsPerSecond answered (OK) requests per second
   * @param outputTokensPerSecond completion tokens per second
   */
  public List<Cost> price(double requestsPerSecond, double outputTokensPerSecond) {
    List<Cost> costs = new ArrayList<>();
    for (PriceTable.Instance i : table.instances()) {
      costs.add(
          new Cost(
              i.cloud(),
              i.type(),
              i.hardware(),
              i.usdPerHour(),
              perUnit(i.usdPerHour(), requestsPerSecond, 1_000),
              perUnit(i.usdPerHour(), outputTokensPerSecond, 1_000_000)));
    }
    return costs;
  }

  private static double perUnit(double usdPerHour, double perSecond, double units) {
    return perSecond <= 0 ? Double.NaN : usdPerHour / (perSecond * 3600) * units;
  }
}
