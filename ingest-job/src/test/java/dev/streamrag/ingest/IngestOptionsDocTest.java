package dev.streamrag.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Docs follow code: the README's settings table is exactly what the options declare. */
class IngestOptionsDocTest {
  @Test
  void theReadmeListsEverySettingAsDeclared() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    assertThat(readme)
        .as(
            "ingest-job/README.md must contain the table JobConfig.describe(IngestOptions.ALL)"
                + " prints; paste it from this message")
        .contains(JobConfig.describe(IngestOptions.ALL));
  }
}
