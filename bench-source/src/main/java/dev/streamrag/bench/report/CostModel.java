package dev.streamrag.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
  private final List<Instance> instances;

  public CostModel(List<Instance> instances) {
    this.instances = List.copyOf(instances);
  }

  /** An hourly price. */
  public record Instance(String cloud, String type, String hardware, double usdPerHour) {}

  /** The price of a run's work on one instance type. */
  public record Cost(
      String cloud,
      String type,
      String hardware,
      double usdPerHour,
      double usdPer1kRequests,
      double usdPer1mOutputTokens) {}

  /** The bundled list prices, or {@code file} if given. */
  public static CostModel load(Path file) {
    try (InputStream in =
        file != null
            ? Files.newInputStream(file)
            : CostModel.class.getResourceAsStream("/prices.yaml")) {
      if (in == null) {
        throw new IllegalStateException("prices.yaml is missing from the jar");
      }
      JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(in);
      List<Instance> instances = new ArrayList<>();
      for (JsonNode node : root.path("instances")) {
        instances.add(
            new Instance(
                node.path("cloud").asText(),
                node.path("type").asText(),
                node.path("hardware").asText(),
                node.path("usdPerHour").asDouble()));
      }
      if (instances.isEmpty()) {
        throw new IllegalArgumentException(
            "price table " + (file == null ? "prices.yaml" : file) + " lists no instances");
      }
      return new CostModel(instances);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read price table " + file, e);
    }
  }

  /**
   * @param requestsPerSecond answered (OK) requests per second
   * @param outputTokensPerSecond completion tokens per second
   */
  public List<Cost> price(double requestsPerSecond, double outputTokensPerSecond) {
    List<Cost> costs = new ArrayList<>();
    for (Instance i : instances) {
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
