package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Prometheus-operator resources of {@code components/monitoring}: the PrometheusRule is
 * dashboards/prometheus/alerts.yaml (which promtool and a real Prometheus test), wrapped, never a
 * second copy to drift; every PodMonitor selects pods that the overlay really runs, by a port they
 * really name, under the job name the dashboards and alerts query.
 */
class MonitoringComponentTest {
  private static final Path ALERTS = Repo.path("dashboards/prometheus/alerts.yaml");
  private static final Path RULE =
      Repo.path("flink-deployments/components/monitoring/prometheus-rule.yaml");
  private static final String REGENERATE = "streamrag.regenerate";

  /**
   * Regenerate after editing alerts.yaml: {@code ./mvnw test -pl deploy-check -am
   * -Dtest=MonitoringComponentTest -Dsurefire.failIfNoSpecifiedTests=false
   * -Dstreamrag.regenerate=true}.
   */
  @Test
  void thePrometheusRuleIsAlertsYamlWrapped() throws IOException {
    String expected = prometheusRule(Files.readString(ALERTS));
    if (Boolean.getBoolean(REGENERATE)) {
      Files.writeString(RULE, expected);
    }
    assertThat(Files.readString(RULE))
        .as(
            "%s is generated from alerts.yaml: run ./mvnw test -pl deploy-check -am"
                + " -Dtest=MonitoringComponentTest -Dsurefire.failIfNoSpecifiedTests=false"
                + " -D%s=true",
            RULE, REGENERATE)
        .isEqualTo(expected);
    JsonNode rule = Yaml.single(RULE);
    assertThat(rule.path("spec")).isEqualTo(Yaml.single(ALERTS));
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke"})
  void everyPodMonitorSelectsRunningPodsByANamedPort(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    List<ObjectNode> monitors = rendered.ofKind("PodMonitor");
    assertThat(monitors)
        .extracting(m -> m.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder(
            "streamrag-flink", "streamrag-llm", "streamrag-gateway", "streamrag-kafka-exporter");
    assertThat(rendered.ofKind("PrometheusRule")).hasSize(1);
    List<Pod> pods = pods(rendered);
    Set<String> jobs = new HashSet<>();
    for (ObjectNode monitor : monitors) {
      JsonNode spec = monitor.path("spec");
      List<Pod> selected = pods.stream().filter(p -> p.matches(spec.path("selector"))).toList();
      assertThat(selected)
          .as("%s selects no pod in %s", Rendered.name(monitor), overlay)
          .isNotEmpty();
      for (JsonNode endpoint : spec.path("podMetricsEndpoints")) {
        String port = endpoint.path("port").asText();
        for (Pod pod : selected) {
          assertThat(pod.ports())
              .as("%s: %s names port %s", monitor, pod.name(), port)
              .contains(port);
        }
        for (JsonNode relabel : endpoint.path("relabelings")) {
          if (relabel.path("targetLabel").asText().equals("job")) {
            jobs.add(relabel.path("replacement").asText());
          }
        }
      }
      assertThat(monitor.path("metadata").path("labels").path("release").asText())
          .isEqualTo("kube-prometheus-stack");
    }
    // The job names prometheus.yaml gives the same targets, which alerts.yaml and the dashboards
    // use.
    Set<String> scrapeJobs = new HashSet<>();
    for (JsonNode job :
        Yaml.single(Repo.path("dashboards/prometheus/prometheus.yaml")).path("scrape_configs")) {
      scrapeJobs.add(job.path("job_name").asText());
    }
    assertThat(scrapeJobs).contains("streamrag-flink", "streamrag-llm");
    assertThat(jobs).contains("streamrag-flink", "streamrag-llm");
  }

  @Test
  void theLocalOverlayNeedsNoPrometheusOperator() {
    Rendered local = Rendered.overlay("local");
    assertThat(local.ofKind("PodMonitor")).isEmpty();
    assertThat(local.ofKind("PrometheusRule")).isEmpty();
  }

  @Test
  void everyDashboardBecomesALabelledConfigMap() throws IOException {
    JsonNode kustomization = Yaml.single(Repo.path("dashboards/kustomization.yaml"));
    Set<String> files = new HashSet<>();
    for (JsonNode generator : kustomization.path("configMapGenerator")) {
      for (JsonNode file : generator.path("files")) {
        files.add(Repo.path("dashboards").resolve(file.asText()).normalize().toString());
      }
    }
    List<String> dashboards = new ArrayList<>();
    for (Path file : Dashboards.files()) {
      dashboards.add(file.toAbsolutePath().normalize().toString());
    }
    assertThat(files).containsExactlyInAnyOrderElementsOf(dashboards);
    JsonNode labels = kustomization.path("generatorOptions").path("labels");
    assertThat(labels.path("grafana_dashboard").asText()).isEqualTo("1");
  }

  private static String prometheusRule(String alerts) {
    StringBuilder out =
        new StringBuilder(
            """
            # Generated from dashboards/prometheus/alerts.yaml by MonitoringComponentTest; do not edit.
            # The alert rules for the Prometheus operator (kube-prometheus-stack).
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: streamrag
              labels:
                app.kubernetes.io/part-of: streamrag
                release: kube-prometheus-stack
            spec:
            """);
    for (String line : alerts.split("\n", -1)) {
      if (line.startsWith("#")) {
        continue; // the file's own header describes the plain rule file
      }
      out.append(line.isEmpty() ? "" : "  " + line).append('\n');
    }
    return out.toString().stripTrailing() + "\n";
  }

  /** A pod template as the cluster runs it: its labels and the names of its container ports. */
  private record Pod(String name, Map<String, String> labels, Set<String> ports) {
    boolean matches(JsonNode selector) {
      for (Map.Entry<String, JsonNode> e : iterable(selector.path("matchLabels"))) {
        if (!e.getValue().asText().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
      for (JsonNode expression : selector.path("matchExpressions")) {
        String value = labels.get(expression.path("key").asText());
        Set<String> values = new HashSet<>();
        expression.path("values").forEach(v -> values.add(v.asText()));
        boolean matched =
            switch (expression.path("operator").asText()) {
              case "In" -> value != null && values.contains(value);
              case "NotIn" -> value == null || !values.contains(value);
              case "Exists" -> value != null;
              case "DoesNotExist" -> value == null;
              default -> throw new IllegalArgumentException("unknown operator in " + expression);
            };
        if (!matched) {
          return false;
        }
      }
      return true;
    }
  }

  private static List<Pod> pods(Rendered rendered) {
    List<Pod> pods = new ArrayList<>();
    for (String kind : List.of("Deployment", "StatefulSet")) {
      for (ObjectNode workload : rendered.ofKind(kind)) {
        pods.add(pod(Rendered.name(workload), workload.path("spec").path("template")));
      }
    }
    // The Flink operator labels each JobManager and TaskManager pod type=flink-native-kubernetes
    // and app=<deployment>, on top of the pod template's labels.
    // Strimzi runs the Kafka Exporter of a Kafka that asks for one, labelled and with its port
    // named as Strimzi 1.2 does (KafkaExporter, MetricsModel.METRICS_PORT_NAME).
    for (ObjectNode kafka : rendered.ofKind("Kafka")) {
      if (kafka.path("spec").has("kafkaExporter")) {
        String name = kafka.path("metadata").path("name").asText();
        pods.add(
            new Pod(
                "Kafka Exporter of " + name,
                Map.of(
                    "strimzi.io/kind",
                    "Kafka",
                    "strimzi.io/cluster",
                    name,
                    "strimzi.io/name",
                    name + "-kafka-exporter"),
                Set.of("tcp-prometheus")));
      }
    }
    // A JobManager's or TaskManager's own template merges into the shared one by element name
    // (FlinkDeploymentsTest checks merge-arrays-by-name): its containers' ports join the shared.
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      for (String role : List.of("jobManager", "taskManager")) {
        ObjectNode template = deployment.path("spec").path("podTemplate").deepCopy();
        ObjectNode labels = template.with("metadata").with("labels");
        labels.put("type", "flink-native-kubernetes");
        labels.put("app", deployment.path("metadata").path("name").asText());
        Pod shared = pod(Rendered.name(deployment) + " " + role, template);
        Pod own = pod("", deployment.path("spec").path(role).path("podTemplate"));
        Set<String> ports = new HashSet<>(shared.ports());
        ports.addAll(own.ports());
        Map<String, String> merged = new java.util.HashMap<>(shared.labels());
        merged.putAll(own.labels());
        pods.add(new Pod(shared.name(), merged, ports));
      }
    }
    return pods;
  }

  private static Pod pod(String name, JsonNode template) {
    Map<String, String> labels = new java.util.HashMap<>();
    for (Map.Entry<String, JsonNode> e : iterable(template.path("metadata").path("labels"))) {
      labels.put(e.getKey(), e.getValue().asText());
    }
    Set<String> ports = new HashSet<>();
    for (JsonNode container : template.path("spec").path("containers")) {
      for (JsonNode port : container.path("ports")) {
        ports.add(port.path("name").asText());
      }
    }
    return new Pod(name, labels, ports);
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
    return node::fields;
  }
}
