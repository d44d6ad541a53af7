package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Docs follow code: the README's settings table is exactly what the options declare. */
class InferenceOptionsDocTest {
  @Test
  void theReadmeListsEverySettingAsDeclared() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    assertThat(readme)
        .as(
            "inference-job/README.md must contain the table JobConfig.describe(InferenceOptions.ALL)"
                + " prints; paste it from this message")
        .contains(JobConfig.describe(InferenceOptions.ALL));
  }
}
