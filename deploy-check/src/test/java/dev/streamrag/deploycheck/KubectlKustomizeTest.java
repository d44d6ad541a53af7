package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
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

  private static List<JsonNode> kubectlKustomize(Path dir) throws Exception {
    Path kubectl = kubectl();
    Path out = Files.createTempFile("kustomize-", ".yaml");
    Path err = Files.createTempFile("kustomize-", ".err");
    try {
      Process process =
          new ProcessBuilder(kubectl.toString(), "kustomize", dir.toString())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("kubectl kustomize " + dir + " did not finish in 60 s");
      }
      assertThat(process.exitValue())
          .as("kubectl kustomize %s: %s", dir, Files.readString(err, StandardCharsets.UTF_8))
          .isZero();
      return Yaml.documents(out);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /**
   * kubectl from KUBECTL_BIN or the PATH. Missing, the test fails where a run needs it
   * (STREAMRAG_REQUIRE_KUBECTL, set by .ci/run when the machine has kubectl) and is skipped, saying
   * why, elsewhere.
   */
  private static Path kubectl() {
    Optional<Path> found =
        Optional.ofNullable(System.getenv("KUBECTL_BIN"))
            .map(Path::of)
            .or(
                () ->
                    Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                        .map(p -> Path.of(p, "kubectl"))
                        .filter(Files::isExecutable)
                        .findFirst());
    String missing = "kubectl (with kustomize v5) is not installed, or set KUBECTL_BIN";
    if (found.isEmpty() && System.getenv("STREAMRAG_REQUIRE_KUBECTL") != null) {
      throw new IllegalStateException(missing);
    }
    Assumptions.assumeTrue(found.isPresent(), missing);
    return found.get();
  }
}
