package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The Grafana dashboards and Prometheus alert rules in dashboards/, and the PromQL they hold. */
final class Dashboards {
  /** Marks panels that need GPU nodes; their queries are syntax-checked only. */
  static final String GPU_MARK = "Needs GPU nodes with NVIDIA's DCGM exporter";

  /** Grafana's built-in variables, as the test evaluates them. */
  static final Map<String, String> BUILT_INS =
      Map.of("__rate_interval", "1m", "__interval", "15s", "__range", "1h");

  private static final Pattern VARIABLE = Pattern.compile("\\$\\{?(\\w+)}?");
  private static final Pattern SELECTOR =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*(\\{[^}]*})?");
  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan");

  record Query(String source, String expr, boolean gpu) {}

  private Dashboards() {}

  static List<Path> files() {
    try (Stream<Path> files = Files.list(Repo.path("dashboards/grafana"))) {
      return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode read(Path file) {
    try {
      return Yaml.JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
  }

  /** Every panel query of every dashboard, with its variables replaced by what the test uses. */
  static List<Query> panelQueries() {
    List<Query> queries = new ArrayList<>();
    for (Path file : files()) {
      JsonNode dashboard = read(file);
      Map<String, String> values = new java.util.HashMap<>(BUILT_INS);
      for (JsonNode variable : dashboard.path("templating").path("list")) {
        String name = variable.path("name").asText();
        // "All" for multi-value variables, else the default.
        values.put(
            name,
            variable.path("includeAll").asBoolean(false)
                ? variable.path("allValue").asText(".*")
                : variable.path("current").path("value").asText());
      }
      for (JsonNode panel : dashboard.path("panels")) {
        for (JsonNode target : panel.path("targets")) {
          queries.add(
              new Query(
                  file.getFileName() + " / " + panel.path("title").asText(),
                  substitute(target.path("expr").asText(), values),
                  panel.path("description").asText().startsWith(GPU_MARK)));
        }
      }
    }
    return queries;
  }

  /** Every alert rule's expression. */
  static List<Query> alertQueries() {
    List<Query> queries = new ArrayList<>();
    JsonNode rules = Yaml.single(Repo.path("dashboards/prometheus/alerts.yaml"));
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        queries.add(
            new Query(
                "alerts.yaml / " + rule.path("alert").asText(), rule.path("expr").asText(), false));
      }
    }
    return queries;
  }

  /** Replaces $var and ${var}; a variable the values lack is left, for the caller to find. */
  static String substitute(String expr, Map<String, String> values) {
    Matcher m = VARIABLE.matcher(expr);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = values.get(m.group(1));
      m.appendReplacement(out, Matcher.quoteReplacement(value == null ? m.group() : value));
    }
    return m.appendTail(out).toString();
  }

  /**
   * The vector selectors of a PromQL expression ({@code name{labels}}), found by a small scan:
   * grouping label lists, ranges and string-free function calls are skipped. Enough for the queries
   * here, which use no string arguments outside label matchers.
   */
  static Set<String> selectors(String expr) {
    String scrubbed =
        expr.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
            .replaceAll("\\[[^]]*]", " ");
    Set<String> selectors = new LinkedHashSet<>();
    Matcher m = SELECTOR.matcher(scrubbed);
    while (m.find()) {
      String name = m.group(1);
      int after = m.end();
      while (after < scrubbed.length() && scrubbed.charAt(after) == ' ') {
        after++;
      }
      boolean call =
          m.group(2) == null && after < scrubbed.length() && scrubbed.charAt(after) == '(';
      if (call || KEYWORDS.contains(name.toLowerCase())) {
        continue;
      }
      selectors.add(name + (m.group(2) == null ? "" : m.group(2)));
    }
    return selectors;
  }

  static String metricName(String selector) {
    int brace = selector.indexOf('{');
    return brace < 0 ? selector : selector.substring(0, brace);
  }
}
