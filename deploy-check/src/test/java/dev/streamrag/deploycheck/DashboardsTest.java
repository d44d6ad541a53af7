package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dashboards' structure and every YAML file's syntax; the queries themselves are evaluated by a
 * real Prometheus in {@link DashboardQueriesIT}.
 */
class DashboardsTest {
  @Test
  void dashboardsHaveUniqueUidsAndTheDatasourceAsAVariable() {
    List<Path> files = Dashboards.files();
    assertThat(files).hasSize(3);
    Set<String> uids = new HashSet<>();
    for (Path file : files) {
      JsonNode dashboard = Dashboards.read(file);
      assertThat(uids.add(dashboard.path("uid").asText())).as(file + " uid").isTrue();
      assertThat(dashboard.path("templating").path("list").get(0).path("type").asText())
          .isEqualTo("datasource");
      Set<Integer> ids = new HashSet<>();
      for (JsonNode panel : dashboard.path("panels")) {
        assertThat(ids.add(panel.path("id").asInt())).as(file + " panel id").isTrue();
        if (panel.path("type").asText().equals("row")) {
          continue;
        }
        assertThat(panel.path("datasource").path("uid").asText())
            .as(file + " / " + panel.path("title"))
            .isEqualTo("${datasource}");
        assertThat(panel.path("targets")).as(file + " / " + panel.path("title")).isNotEmpty();
        assertThat(panel.path("description").asText()).isNotBlank();
      }
    }
  }

  @Test
  void everyQueryUsesOnlyDefinedVariablesAndNamesAMetric() {
    List<Dashboards.Query> queries = Dashboards.panelQueries();
    assertThat(queries).hasSizeGreaterThan(30);
    for (Dashboards.Query query : queries) {
      assertThat(query.expr()).as(query.source()).doesNotContain("$");
      assertThat(Dashboards.selectors(query.expr())).as(query.source()).isNotEmpty();
    }
    assertThat(queries).filteredOn(Dashboards.Query::gpu).hasSize(3);
    assertThat(Dashboards.alertQueries()).hasSizeGreaterThanOrEqualTo(9);
  }

  @Test
  void selectorsAreFoundInsideFunctionsAndAggregations() {
    assertThat(
            Dashboards.selectors(
                "sum by (le, model_name) (rate(vllm:x_bucket{a=\"b\"}[1m])) / 1000"
                    + " and absent(up{job=\"j\"}) or max(y) > 14.4 * (1 - 0.99)"))
        .containsExactly("vllm:x_bucket{a=\"b\"}", "up{job=\"j\"}", "y");
  }

  /** An alert names its runbook, and the runbook has that alert's section. */
  @Test
  void everyAlertLinksToItsRunbookSection() throws Exception {
    String runbooks = java.nio.file.Files.readString(Repo.path("docs/runbooks.md"));
    JsonNode rules = Yaml.single(Repo.path("dashboards/prometheus/alerts.yaml"));
    int alerts = 0;
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        String alert = rule.path("alert").asText();
        if (alert.isEmpty()) {
          continue; // a recording rule
        }
        alerts++;
        assertThat(rule.path("annotations").path("runbook_url").asText())
            .as(alert)
            .isEqualTo("docs/runbooks.md#" + alert.toLowerCase(java.util.Locale.ROOT));
        assertThat(runbooks)
            .as("docs/runbooks.md has a section for " + alert)
            .contains("\n## " + alert + "\n");
      }
    }
    assertThat(alerts).isEqualTo(11);
  }

  @Test
  void everyYamlFileParses() throws Exception {
    for (String folder :
        List.of("flink-deployments", "kafka", "dashboards", "bench-source/scenarios")) {
      try (Stream<Path> files = Files.walk(Repo.path(folder))) {
        for (Path file : files.filter(f -> f.toString().matches(".*\\.ya?ml$")).toList()) {
          assertThat(Yaml.documents(file)).as(file.toString()).isNotEmpty();
        }
      }
    }
  }
}
