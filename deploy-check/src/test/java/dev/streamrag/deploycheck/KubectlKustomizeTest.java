package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every overlay renders with the real {@code kubectl kustomize}, which is what users run ({@code
 * kubectl apply -k}), and the hand-written {@link Kustomize} the other checks use renders exactly
 * the same resources. The hand renderer once passed while kustomize refused every overlay (its load
 * restrictor forbids files outside a kustomization's folder); this test would have said so.
 */
class KubectlKustomizeTest {
  /** Keys sorted, so the comparison ignores the order kustomize writes fields in. */
  private static final JsonMapper CANONICAL =
      JsonMapper.builder().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void theRealToolRendersTheOverlayAsTheChecksSeeIt(String overlay) throws Exception {
    Path dir = Repo.path("flink-deployments/overlays/" + overlay);
    List<String> real = canonical(kubectlKustomize(dir));
    List<String> ours = canonical(new ArrayList<>(Kustomize.render(dir)));
    assertThat(real).as("kubectl kustomize %s renders resources", overlay).isNotEmpty();
    assertThat(ours)
        .as("the hand renderer renders what kubectl kustomize renders for %s", overlay)
        .containsExactlyInAnyOrderElementsOf(real);
  }

  private static List<String> canonical(List<? extends JsonNode> resources) throws IOException {
    List<String> out = new ArrayList<>();
    for (JsonNode resource : resources) {
      Object plain = CANONICAL.treeToValue(resource, Object.class);
      out.add(CANONICAL.writeValueAsString(plain));
    }
    return out;
  }

  static List<JsonNode> kubectlKustomize(Path dir) throws Exception {
    ExternalTool.Result result =
        kubectl().run(dir, Duration.ofSeconds(60), "kustomize", dir.toString());
    assertThat(result.exitCode()).as("kubectl kustomize %s: %s", dir, result.stderr()).isZero();
    return Yaml.documents(result.stdout());
  }

  /** The Grafana dashboards' kustomization renders one labelled ConfigMap per dashboard. */
  @Test
  void theDashboardsRenderAsLabelledConfigMaps() throws Exception {
    List<JsonNode> maps = kubectlKustomize(Repo.path("dashboards"));
    assertThat(maps).hasSize(Dashboards.files().size());
    for (JsonNode map : maps) {
      assertThat(map.path("kind").asText()).isEqualTo("ConfigMap");
      assertThat(map.path("metadata").path("labels").path("grafana_dashboard").asText())
          .isEqualTo("1");
      assertThat(map.path("data").size()).isEqualTo(1);
      String json = map.path("data").elements().next().asText();
      assertThat(Yaml.MAPPER.readTree(json).path("uid").asText()).isNotBlank();
    }
  }

  /** kubectl with kustomize v5 (KUBECTL_BIN or the PATH; required where .ci/run says so). */
  private static ExternalTool kubectl() {
    return ExternalTool.require(
        "kubectl",
        "KUBECTL_BIN",
        "STREAMRAG_REQUIRE_KUBECTL",
        "kubectl with kustomize v5 is needed (Debian package kubectl)");
  }
}
