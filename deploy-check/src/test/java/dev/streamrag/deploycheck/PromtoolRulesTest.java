package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The alert rules' unit tests ({@code dashboards/prometheus/alerts.test.yaml}) run by the real
 * {@code promtool}, and they cover every alert twice: once firing, with its exact labels and
 * annotations, and once not firing (below the threshold, or for less than its {@code for}).
 */
class PromtoolRulesTest {
  private static final Path DIR = Repo.path("dashboards/prometheus");

  @Test
  void promtoolAcceptsTheRulesAndTheirUnitTestsPass() throws Exception {
    ExternalTool promtool = promtool();
    ExternalTool.Result check =
        promtool.run(DIR, Duration.ofSeconds(60), "check", "rules", "alerts.yaml");
    assertThat(check.exitCode())
        .as("promtool check rules:\n%s%s", check.stdout(), check.stderr())
        .isZero();
    ExternalTool.Result test =
        promtool.run(DIR, Duration.ofSeconds(120), "test", "rules", "alerts.test.yaml");
    assertThat(test.exitCode())
        .as("promtool test rules:\n%s%s", test.stdout(), test.stderr())
        .isZero();
    assertThat(test.stdout()).contains("SUCCESS");
  }

  @Test
  void everyAlertIsTestedFiringAndNotFiring() {
    Set<String> alerts = new HashSet<>();
    for (JsonNode group : Yaml.single(DIR.resolve("alerts.yaml")).path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.has("alert")) {
          alerts.add(rule.path("alert").asText());
        }
      }
    }
    Set<String> firing = new HashSet<>();
    Set<String> silent = new HashSet<>();
    JsonNode tests = Yaml.single(DIR.resolve("alerts.test.yaml"));
    assertThat(tests.path("rule_files").get(0).asText()).isEqualTo("alerts.yaml");
    for (JsonNode test : tests.path("tests")) {
      for (JsonNode alertTest : test.path("alert_rule_test")) {
        String name = alertTest.path("alertname").asText();
        (alertTest.path("exp_alerts").isEmpty() ? silent : firing).add(name);
      }
    }
    assertThat(alerts).hasSizeGreaterThanOrEqualTo(10);
    assertThat(firing).as("alerts tested firing").containsAll(alerts);
    assertThat(silent).as("alerts tested not firing").containsAll(alerts);
  }

  /** promtool, from Debian's prometheus package (PROMTOOL_BIN or the PATH). */
  private static ExternalTool promtool() {
    return ExternalTool.require(
        "promtool",
        "PROMTOOL_BIN",
        "STREAMRAG_REQUIRE_PROMETHEUS",
        "apt-get install prometheus (Debian) brings it");
  }
}
