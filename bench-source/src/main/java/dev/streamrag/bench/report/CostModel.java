package dev.streamrag.bench.report;

import dev.streamrag.jobs.llm.pools.PriceTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Dollars per 1k requests and per 1M output tokens for each instance type of a price table, from a
 * run's measured rates. The assumption, printed with the table: one instance of the type sustains
 * the measured rate (the llm-sim profile names the GPU it models; its own machine is what is priced
 * for CPU-only types).
 */
public final class CostModel {
  private final List<PriceTable.Instance> instances;

  public CostModel(List<PriceTable.Instance> instances) {
    this.instances = List.copyOf(instances);
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
    return new CostModel(PriceTable.load(file).instances());
  }

  /**
   * @param requestsPerSecond answered (OK) requests per second
   * @param outputTokensPerSecond completion tokens per second
   */
  public List<Cost> price(double requestsPerSecond, double outputTokensPerSecond) {
    List<Cost> costs = new ArrayList<>();
    for (PriceTable.Instance i : instances) {
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
