package dev.streamrag.devstack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.streamrag.jobs.config.JobConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A scenario matrix file:
 *
 * <pre>
 * base:                      # settings every scenario starts from
 *   bench.duration: 30 s
 * scenarios:
 *   - name: micro-batch-16-5ms
 *   - name: static-32-1s
 *     embedding.batch-size: 32
 *     embedding.batch-wait: 1 s
 * </pre>
 */
record Matrix(Map<String, String> base, List<Entry> entries) {
  /** One scenario: its name and the settings it adds to the base. */
  record Entry(String name, Map<String, String> settings) {}

  static Matrix read(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read matrix file " + file, e);
    }
    if (root == null || !root.path("scenarios").isArray() || root.path("scenarios").isEmpty()) {
      throw new IllegalArgumentException(file + " must hold a non-empty 'scenarios' list");
    }
    Map<String, String> base = root.has("base") ? flat(root.get("base")) : Map.of();
    List<Entry> entries = new ArrayList<>();
    for (JsonNode node : root.get("scenarios")) {
      Map<String, String> settings = new LinkedHashMap<>(flat(node));
      String name = settings.remove("name");
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException(file + ": every scenario needs a name");
      }
      entries.add(new Entry(name, settings));
    }
    return new Matrix(base, entries);
  }

  /** Nested keys joined with dots, as in settings files. */
  private static Map<String, String> flat(JsonNode node) {
    Map<String, String> values = new LinkedHashMap<>();
    JobConfig.flatten("", node, values);
    return values;
  }
}
