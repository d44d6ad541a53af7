package dev.streamrag.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.bench.load.Scenario;
import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Docs follow code: the README's settings table and the shipped scenarios match the options. */
class BenchOptionsDocTest {
  @Test
  void theReadmeListsEverySettingAsDeclared() throws Exception {
    assertThat(Files.readString(Path.of("README.md")))
        .as("bench-source/README.md must contain the table `LoadJobMain --help` prints")
        .contains(JobConfig.describe(BenchOptions.ALL));
  }

  @Test
  void theShippedScenariosLoad() {
    for (String file :
        new String[] {
          "scenarios/default.yaml", "scenarios/bursty-chat.yaml", "scenarios/agents.yaml"
        }) {
      Scenario scenario =
          Scenario.from(
              JobConfig.load(new String[] {"--config", file}, Map.of(), BenchOptions.ALL));
      assertThat(scenario.rate()).as(file).isPositive();
    }
    Scenario defaults = Scenario.from(JobConfig.load(new String[0], Map.of(), BenchOptions.ALL));
    Scenario spelledOut =
        Scenario.from(
            JobConfig.load(
                new String[] {"--config", "scenarios/default.yaml"}, Map.of(), BenchOptions.ALL));
    assertThat(spelledOut).usingRecursiveComparison().ignoringFields("runId").isEqualTo(defaults);
  }
}
