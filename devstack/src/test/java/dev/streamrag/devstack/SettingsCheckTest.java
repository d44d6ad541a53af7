package dev.streamrag.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the local stack refuses before it starts anything, and how it reads matrix files. */
class SettingsCheckTest {
  @Test
  void goodSettingsPass() {
    assertThatCode(
            () ->
                LocalStack.check(
                    Map.of(
                        "bench.rate",
                        "20",
                        "llm.routing",
                        "ROUND_ROBIN",
                        "cache.enabled",
                        "false")))
        .doesNotThrowAnyException();
  }

  @Test
  void typosBadValuesAndImpossibleScenariosAreRefused() {
    assertThatThrownBy(() -> LocalStack.check(Map.of("bench.rat", "20")))
        .hasMessageContaining("unknown setting(s) [bench.rat]");
    assertThatThrownBy(() -> LocalStack.check(Map.of("llm.routing", "RANDOM")))
        .hasMessageContaining("llm.routing");
    assertThatThrownBy(() -> LocalStack.check(Map.of("bench.rag-share", "1.5")))
        .hasMessageContaining("bench.rag-share");
    assertThatThrownBy(
            () -> LocalStack.check(Map.of("bench.duration", "10 s", "bench.warmup", "10 s")))
        .hasMessageContaining("bench.warmup");
    assertThatThrownBy(() -> LocalStack.check(Map.of("inference.responses-format", "REGISTRY")))
        .hasMessageContaining("schema registry");
  }

  @Test
  void matrixFilesHaveABaseAndNamedScenarios(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("m.yaml");
    Files.writeString(
        file,
        "base:\n  bench.rate: 5\nscenarios:\n  - name: a\n  - name: b\n    embedding:\n      batch-size: 32\n");
    Matrix matrix = Matrix.read(file);
    assertThat(matrix.base()).containsEntry("bench.rate", "5");
    assertThat(matrix.entries()).extracting(Matrix.Entry::name).containsExactly("a", "b");
    assertThat(matrix.entries().get(1).settings()).containsEntry("embedding.batch-size", "32");

    Files.writeString(file, "scenarios:\n  - bench.rate: 5\n");
    assertThatThrownBy(() -> Matrix.read(file)).hasMessageContaining("needs a name");
    Files.writeString(file, "base: {}\n");
    assertThatThrownBy(() -> Matrix.read(file)).hasMessageContaining("'scenarios'");
  }

  @Test
  void everyShippedMatrixIsValid() throws Exception {
    List<Path> matrices;
    try (Stream<Path> files = Files.list(Path.of("../bench-source/scenarios"))) {
      matrices =
          files
              .filter(f -> f.toString().endsWith(".yaml"))
              .filter(f -> !f.getFileName().toString().equals("default.yaml"))
              .filter(f -> !f.getFileName().toString().equals("bursty-chat.yaml"))
              .filter(f -> !f.getFileName().toString().equals("agents.yaml"))
              .toList();
    }
    assertThat(matrices).hasSizeGreaterThanOrEqualTo(4);
    for (Path file : matrices) {
      Matrix matrix = Matrix.read(file);
      for (Matrix.Entry entry : matrix.entries()) {
        Map<String, String> settings = new LinkedHashMap<>(matrix.base());
        settings.putAll(entry.settings());
        assertThatCode(() -> LocalStack.check(settings))
            .as(file.getFileName() + ": " + entry.name())
            .doesNotThrowAnyException();
      }
    }
  }
}
