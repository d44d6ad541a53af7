package dev.streamrag.jobs.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {
  static final ConfigOption<Integer> SIZE =
      ConfigOptions.key("demo.batch-size")
          .intType()
          .defaultValue(32)
          .withDescription("Batch size.");
  static final ConfigOption<Duration> WAIT =
      ConfigOptions.key("demo.batch-wait")
          .durationType()
          .defaultValue(Duration.ofMillis(20))
          .withDescription("Longest wait.");
  static final ConfigOption<String> NAME =
      ConfigOptions.key("demo.name").stringType().noDefaultValue().withDescription("A name.");
  static final List<ConfigOption<?>> OPTIONS = List.of(SIZE, WAIT, NAME);

  @Test
  void defaultsThenFileThenEnvironmentThenFlags(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("job.properties");
    Files.writeString(file, "demo.batch-size=8\ndemo.batch-wait=1 s\ndemo.name=from-file\n");
    Configuration config =
        JobConfig.load(
            new String[] {"--config", file.toString(), "--demo.name", "from-flag"},
            Map.of("STREAMRAG_DEMO_BATCH_SIZE", "16"),
            OPTIONS);
    assertThat(config.get(SIZE)).isEqualTo(16);
    assertThat(config.get(WAIT)).isEqualTo(Duration.ofSeconds(1));
    assertThat(config.get(NAME)).isEqualTo("from-flag");
    assertThat(JobConfig.load(new String[0], Map.of(), OPTIONS).get(SIZE)).isEqualTo(32);
  }

  @Test
  void yamlFilesNestKeysWithDotsAndJoinListsWithSemicolons(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("scenario.yaml");
    Files.writeString(
        file, "demo:\n  batch-size: 4\n  batch-wait: 250 ms\n  name: [a, b]\n# a comment\n");
    Configuration config =
        JobConfig.load(new String[] {"--config", file.toString()}, Map.of(), OPTIONS);
    assertThat(config.get(SIZE)).isEqualTo(4);
    assertThat(config.get(WAIT)).isEqualTo(Duration.ofMillis(250));
    assertThat(config.get(NAME)).isEqualTo("a;b");

    Path list = dir.resolve("list.yml");
    Files.writeString(list, "- 1\n- 2\n");
    assertThatThrownBy(
            () -> JobConfig.load(new String[] {"--config", list.toString()}, Map.of(), OPTIONS))
        .hasMessageContaining("must hold a YAML map");
  }

  @Test
  void unknownKeysAndBadValuesFailAtStartWithTheKey() {
    assertThatThrownBy(
            () -> JobConfig.load(new String[] {"--demo.batchsize", "3"}, Map.of(), OPTIONS))
        .hasMessageContaining("unknown setting(s) [demo.batchsize]")
        .hasMessageContaining("demo.batch-size");
    assertThatThrownBy(
            () -> JobConfig.load(new String[] {"--demo.batch-size", "many"}, Map.of(), OPTIONS))
        .hasMessageContaining("invalid value 'many' for demo.batch-size");
    assertThatThrownBy(() -> JobConfig.load(new String[] {"--demo.name"}, Map.of(), OPTIONS))
        .hasMessageContaining("with no value");
  }

  @Test
  void describesEveryOptionWithItsEnvironmentVariable() {
    assertThat(JobConfig.describe(OPTIONS))
        .contains("| `demo.batch-size` | `STREAMRAG_DEMO_BATCH_SIZE` | `32` | Batch size. |");
  }
}
