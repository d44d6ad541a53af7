package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/** One overlay's rendered resources, with lookups by kind and name. */
record Rendered(String overlay, List<ObjectNode> resources) {
  static Rendered overlay(String name) {
    return new Rendered(name, Kustomize.render(Repo.path("flink-deployments/overlays/" + name)));
  }

  List<ObjectNode> ofKind(String kind) {
    return resources.stream().filter(r -> r.path("kind").asText().equals(kind)).toList();
  }

  ObjectNode get(String kind, String name) {
    return ofKind(kind).stream()
        .filter(r -> r.path("metadata").path("name").asText().equals(name))
        .findFirst()
        .orElseThrow(
            () -> new NoSuchElementException(overlay + " renders no " + kind + "/" + name));
  }

  boolean has(String kind, String name) {
    return ofKind(kind).stream()
        .anyMatch(r -> r.path("metadata").path("name").asText().equals(name));
  }

  /** The jobs' settings ConfigMap, as the environment the mains read. */
  Map<String, String> settings() {
    Map<String, String> env = new LinkedHashMap<>();
    get("ConfigMap", "streamrag-settings")
        .path("data")
        .fields()
        .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
    return env;
  }

  static String name(JsonNode resource) {
    return resource.path("kind").asText() + "/" + resource.path("metadata").path("name").asText();
  }

  /** Every value of a field called {@code field}, anywhere in {@code node}, with its path. */
  static List<Map.Entry<String, JsonNode>> find(JsonNode node, String field) {
    List<Map.Entry<String, JsonNode>> found = new ArrayList<>();
    find(node, field, "", found);
    return found;
  }

  private static void find(
      JsonNode node, String field, String path, List<Map.Entry<String, JsonNode>> found) {
    if (node.isObject()) {
      node.fields()
          .forEachRemaining(
              e -> {
                String at = path + "/" + e.getKey();
                if (e.getKey().equals(field)) {
                  found.add(Map.entry(at, e.getValue()));
                }
                find(e.getValue(), field, at, found);
              });
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        find(node.get(i), field, path + "/" + i, found);
      }
    }
  }
}
