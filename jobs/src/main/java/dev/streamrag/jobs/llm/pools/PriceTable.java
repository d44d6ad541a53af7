package dev.streamrag.jobs.llm.pools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Hourly instance prices: the bundled list prices ({@code prices.yaml} in this jar) or a table of
 * one's own. One table serves the report's cost model and the LLM pools, so a pool can only name an
 * instance the report can price.
 */
public final class PriceTable implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String BUNDLED = "prices.yaml";

  /** One instance type's hourly price. */
  public record Instance(String cloud, String type, String hardware, double usdPerHour)
      implements Serializable {
    /** How a pool names it: {@code cloud/type}. */
    public String key() {
      return cloud + "/" + type;
    }
  }

  private final List<Instance> instances;

  public PriceTable(List<Instance> instances) {
    this.instances = List.copyOf(instances);
  }

  /** The bundled list prices, or {@code file} if not null. */
  public static PriceTable load(Path file) {
    try (InputStream in =
        file != null
            ? Files.newInputStream(file)
            : PriceTable.class.getResourceAsStream("/" + BUNDLED)) {
      if (in == null) {
        throw new IllegalStateException(BUNDLED + " is missing from the jar");
      }
      String source = file == null ? BUNDLED : file.toString();
      JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(in);
      List<Instance> instances = new ArrayList<>();
      int i = 0;
      for (JsonNode node : root == null ? List.<JsonNode>of() : root.path("instances")) {
        String at = source + ": instances[" + i++ + "]";
        double usd = node.path("usdPerHour").asDouble(Double.NaN);
        if (!(usd > 0) || Double.isInfinite(usd)) {
          throw new IllegalArgumentException(at + ".usdPerHour must be a positive number");
        }
        instances.add(
            new Instance(
                text(node, "cloud", at),
                text(node, "type", at),
                node.path("hardware").asText(),
                usd));
      }
      if (instances.isEmpty()) {
        throw new IllegalArgumentException("price table " + source + " lists no instances");
      }
      return new PriceTable(instances);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read price table " + (file == null ? BUNDLED : file) + ": " + e.getMessage(), e);
    }
  }

  private static String text(JsonNode node, String field, String at) {
    String value = node.path(field).asText("").strip();
    if (value.isEmpty()) {
      throw new IllegalArgumentException(at + "." + field + " is missing");
    }
    return value;
  }

  public List<Instance> instances() {
    return instances;
  }

  /** The instance {@code cloud/type} names, if listed. */
  public Optional<Instance> find(String cloud, String type) {
    return instances.stream()
        .filter(i -> i.cloud().equals(cloud) && i.type().equals(type))
        .findFirst();
  }
}
