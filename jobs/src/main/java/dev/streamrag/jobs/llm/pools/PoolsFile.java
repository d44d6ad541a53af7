package dev.streamrag.jobs.llm.pools;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.schemas.RequestKind;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads LLM pools from YAML, refusing at start anything that would misroute or misprice requests
 * later: unknown keys, instances missing from the price table, malformed or repeated endpoints,
 * pools without models. Every error names the key, as {@code pools[1].instance}.
 *
 * <pre>
 * pools:
 *   - name: cpu
 *     hardware: cpu                      # gpu | cpu
 *     instance: {cloud: aws, type: c7i.2xlarge}
 *     models: [llama-3.2-1b]
 *     endpoints: [http://llm-cpu-0:8080, http://llm-cpu-1:8080]
 *     routing: PREFIX_AFFINITY           # default: llm.routing
 *     contextWindow: 2048                # default: llm.context-window
 *     maxConcurrency: 4                  # per server; 0 = no limit (default)
 *     maxPromptTokens: 600               # 0 = no limit (default)
 *     kinds: [CHAT]                      # default: every kind
 * </pre>
 */
public final class PoolsFile {
  private static final Set<String> POOL_KEYS =
      Set.of(
          "name",
          "hardware",
          "instance",
          "models",
          "endpoints",
          "routing",
          "contextWindow",
          "maxConcurrency",
          "maxPromptTokens",
          "kinds");

  private PoolsFile() {}

  /** What a pool leaves out. */
  public record Defaults(RoutingPolicy routing, int contextWindow) {}

  public static List<ModelPool> load(Path file, PriceTable prices, Defaults defaults) {
    String yaml;
    try {
      yaml = Files.readString(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the pools file " + file + ": " + e, e);
    }
    return parse(yaml, file.toString(), prices, defaults);
  }

  public static List<ModelPool> parse(
      String yaml, String source, PriceTable prices, Defaults defaults) {
    JsonNode root;
    try {
      // A key given twice (a merge mistake) is refused, not resolved to the last one.
      root =
          new ObjectMapper(new YAMLFactory())
              .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
              .readTree(yaml);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + " is not YAML: " + e.getMessage(), e);
    }
    if (root == null || !root.path("pools").isArray() || root.path("pools").isEmpty()) {
      throw new IllegalArgumentException(source + ": 'pools' must be a non-empty list");
    }
    onlyKeys(root, Set.of("pools"), source);
    List<ModelPool> pools = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> endpoints = new HashSet<>();
    for (int i = 0; i < root.path("pools").size(); i++) {
      String at = source + ": pools[" + i + "]";
      ModelPool pool = pool(root.path("pools").get(i), at, prices, defaults);
      if (!names.add(pool.name())) {
        throw new IllegalArgumentException(
            at + ".name: pool '" + pool.name() + "' is defined twice");
      }
      for (int e = 0; e < pool.endpoints().size(); e++) {
        if (!endpoints.add(normalized(pool.endpoints().get(e)))) {
          throw new IllegalArgumentException(
              at
                  + ".endpoints["
                  + e
                  + "]: "
                  + pool.endpoints().get(e)
                  + " is listed twice; a server belongs to one pool");
        }
      }
      pools.add(pool);
    }
    return List.copyOf(pools);
  }

  private static ModelPool pool(JsonNode node, String at, PriceTable prices, Defaults defaults) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(at + " must be a mapping");
    }
    onlyKeys(node, POOL_KEYS, at);
    String name = node.path("name").asText("");
    if (!name.matches("[a-z0-9][a-z0-9-]{0,39}")) {
      throw new IllegalArgumentException(
          at + ".name must be 1-40 of a-z, 0-9 and '-' (it names metrics), was '" + name + "'");
    }
    ModelPool.Hardware hardware =
        enumValue(ModelPool.Hardware.class, node.path("hardware"), at + ".hardware", null);
    PriceTable.Instance instance = instance(node.path("instance"), at + ".instance", prices);
    List<String> models = strings(node.path("models"), at + ".models");
    List<String> urls = strings(node.path("endpoints"), at + ".endpoints");
    for (int e = 0; e < urls.size(); e++) {
      checkUrl(urls.get(e), at + ".endpoints[" + e + "]");
    }
    RoutingPolicy routing =
        enumValue(RoutingPolicy.class, node.path("routing"), at + ".routing", defaults.routing());
    int window = integer(node, "contextWindow", at, defaults.contextWindow(), 16);
    int concurrency = integer(node, "maxConcurrency", at, 0, 0);
    if (concurrency > 1_000_000) {
      throw new IllegalArgumentException(
          at + ".maxConcurrency must be at most 1000000 (0 for no limit), was " + concurrency);
    }
    int maxPrompt = integer(node, "maxPromptTokens", at, 0, 0);
    if (maxPrompt >= window) {
      throw new IllegalArgumentException(
          at + ".maxPromptTokens (" + maxPrompt + ") must be below contextWindow (" + window + ")");
    }
    List<RequestKind> kinds = new ArrayList<>();
    if (!node.path("kinds").isMissingNode()) {
      List<String> names = strings(node.path("kinds"), at + ".kinds");
      for (int k = 0; k < names.size(); k++) {
        kinds.add(
            enumValue(
                RequestKind.class, node.path("kinds").get(k), at + ".kinds[" + k + "]", null));
      }
    }
    return new ModelPool(
        name, models, urls, hardware, instance, routing, window, concurrency, maxPrompt, kinds);
  }

  private static PriceTable.Instance instance(JsonNode node, String at, PriceTable prices) {
    if (!node.isObject()) {
      throw new IllegalArgumentException(
          at + " must name a priced instance, as {cloud: aws, type: g6.xlarge}");
    }
    onlyKeys(node, Set.of("cloud", "type"), at);
    String cloud = node.path("cloud").asText("");
    String type = node.path("type").asText("");
    return prices
        .find(cloud, type)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    at
                        + ": "
                        + cloud
                        + "/"
                        + type
                        + " is not in the price table; it lists "
                        + prices.instances().stream()
                            .map(PriceTable.Instance::key)
                            .collect(Collectors.joining(", "))));
  }

  /** One server however its base URL is written: with or without a trailing slash or /v1. */
  static String normalized(String url) {
    String base = url.strip();
    while (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    if (base.endsWith("/v1")) {
      base = base.substring(0, base.length() - 3);
    }
    return base.toLowerCase(Locale.ROOT);
  }

  private static void checkUrl(String url, String at) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": '" + url + "' is not a URL", e);
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
        || uri.getHost() == null
        || uri.getUserInfo() != null
        || uri.getQuery() != null
        || uri.getFragment() != null) {
      throw new IllegalArgumentException(
          at + ": '" + url + "' must be an http(s) base URL with a host, no credentials or query");
    }
  }

  private static List<String> strings(JsonNode node, String at) {
    if (!node.isArray() || node.isEmpty()) {
      throw new IllegalArgumentException(at + " must be a non-empty list");
    }
    List<String> values = new ArrayList<>();
    for (JsonNode value : node) {
      String text = value.isTextual() ? value.asText().strip() : "";
      if (text.isEmpty()) {
        throw new IllegalArgumentException(at + " holds an empty or non-text entry: " + value);
      }
      if (values.contains(text)) {
        throw new IllegalArgumentException(at + " lists '" + text + "' twice");
      }
      values.add(text);
    }
    return values;
  }

  private static int integer(JsonNode node, String field, String at, int absent, int min) {
    JsonNode value = node.path(field);
    if (value.isMissingNode()) {
      return absent;
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < min) {
      throw new IllegalArgumentException(
          at + "." + field + " must be a whole number >= " + min + ", was " + value);
    }
    return value.asInt();
  }

  private static <E extends Enum<E>> E enumValue(
      Class<E> type, JsonNode node, String at, E absent) {
    if (node.isMissingNode() && absent != null) {
      return absent;
    }
    String text = node.asText("").strip().toUpperCase(Locale.ROOT);
    for (E value : type.getEnumConstants()) {
      if (value.name().equals(text)) {
        return value;
      }
    }
    throw new IllegalArgumentException(
        at
            + " must be one of "
            + Arrays.toString(type.getEnumConstants())
            + ", was '"
            + node.asText("")
            + "'");
  }

  private static void onlyKeys(JsonNode node, Set<String> known, String at) {
    for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
      String key = keys.next();
      if (!known.contains(key)) {
        throw new IllegalArgumentException(
            at + ": unknown key '" + key + "'; known keys: " + new java.util.TreeSet<>(known));
      }
    }
  }
}
