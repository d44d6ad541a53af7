package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.kubernetes.utils.KubernetesUtils;

/**
 * The pods an overlay runs, as Kubernetes will see them: the templates of Deployments and
 * StatefulSets, and for each FlinkDeployment a JobManager and a TaskManager pod, made the way the
 * operator makes them: the shared pod template merged with the JobManager's or TaskManager's own,
 * lists merged by element name (the deployments set merge-arrays-by-name, which
 * FlinkDeploymentsTest checks), and the labels Flink's native Kubernetes mode puts on them, taken
 * from Flink's own code ({@link KubernetesUtils#getJobManagerSelectors}).
 */
final class Pods {
  /** The namespace docs/operations.md installs the platform in. */
  static final String NAMESPACE = "streamrag";

  /**
   * One pod: what makes it, its labels, its spec, and for a Flink pod the job's entry class.
   *
   * @param entryClass the FlinkDeployment's job entry class, or null for other pods
   */
  record Pod(String name, Map<String, String> labels, JsonNode spec, String entryClass) {
    List<JsonNode> containers() {
      List<JsonNode> all = new ArrayList<>();
      spec.path("initContainers").forEach(all::add);
      spec.path("containers").forEach(all::add);
      return all;
    }

    /** The container named {@code name}, or the first one when {@code name} is null. */
    JsonNode container(String name) {
      for (JsonNode container : spec.path("containers")) {
        if (name == null || container.path("name").asText().equals(name)) {
          return container;
        }
      }
      throw new IllegalArgumentException(this.name + " has no container " + name);
    }

    JsonNode volume(String name) {
      for (JsonNode volume : spec.path("volumes")) {
        if (volume.path("name").asText().equals(name)) {
          return volume;
        }
      }
      return null;
    }

    boolean isFlink() {
      return entryClass != null;
    }
  }

  private Pods() {}

  static List<Pod> of(Rendered rendered) {
    List<Pod> pods = new ArrayList<>();
    for (String kind : List.of("Deployment", "StatefulSet")) {
      for (ObjectNode workload : rendered.ofKind(kind)) {
        JsonNode template = workload.path("spec").path("template");
        pods.add(
            new Pod(
                Rendered.name(workload),
                labels(template.path("metadata").path("labels")),
                template.path("spec"),
                null));
      }
    }
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      String cluster = deployment.path("metadata").path("name").asText();
      JsonNode spec = deployment.path("spec");
      for (String role : List.of("jobManager", "taskManager")) {
        JsonNode shared = spec.path("podTemplate");
        JsonNode own = spec.path(role).path("podTemplate");
        Map<String, String> labels = labels(shared.path("metadata").path("labels"));
        labels.putAll(labels(own.path("metadata").path("labels")));
        labels.putAll(
            role.equals("jobManager")
                ? KubernetesUtils.getJobManagerSelectors(cluster)
                : KubernetesUtils.getTaskManagerSelectors(cluster));
        pods.add(
            new Pod(
                Rendered.name(deployment) + " " + role,
                labels,
                mergeByName(shared.path("spec"), own.path("spec")),
                spec.path("job").path("entryClass").asText()));
      }
    }
    return pods;
  }

  static Map<String, String> labels(JsonNode node) {
    Map<String, String> labels = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    return labels;
  }

  /**
   * {@code own} over {@code shared}: objects merge field by field, lists of named objects by name
   * (the operator's merge-arrays-by-name), other lists and values are replaced.
   */
  static JsonNode mergeByName(JsonNode shared, JsonNode own) {
    if (own.isMissingNode() || own.isNull()) {
      return shared.deepCopy();
    }
    if (shared.isMissingNode() || shared.isNull()) {
      return own.deepCopy();
    }
    if (shared.isObject() && own.isObject()) {
      ObjectNode merged = ((ObjectNode) shared).deepCopy();
      own.fields()
          .forEachRemaining(
              e -> merged.set(e.getKey(), mergeByName(shared.path(e.getKey()), e.getValue())));
      return merged;
    }
    if (shared.isArray() && own.isArray() && named(shared) && named(own)) {
      ArrayNode merged = ((ArrayNode) shared).deepCopy();
      for (JsonNode element : own) {
        String name = element.path("name").asText();
        boolean replaced = false;
        for (int i = 0; i < merged.size(); i++) {
          if (merged.get(i).path("name").asText().equals(name)) {
            merged.set(i, mergeByName(merged.get(i), element));
            replaced = true;
          }
        }
        if (!replaced) {
          merged.add(element.deepCopy());
        }
      }
      return merged;
    }
    return own.deepCopy();
  }

  private static boolean named(JsonNode array) {
    for (JsonNode element : array) {
      if (!element.isObject() || !element.has("name")) {
        return false;
      }
    }
    return true;
  }
}
