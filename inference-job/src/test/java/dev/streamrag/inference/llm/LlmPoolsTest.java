package dev.streamrag.inference.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.inference.InferenceJob;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.inference.prompt.PromptAssembler;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.llm.RoutingPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlmPoolsTest {
  @TempDir Path dir;

  private static Configuration config(String... args) {
    return JobConfig.load(args, Map.of(), InferenceOptions.ALL);
  }

  private Path pools(String yaml) throws Exception {
    return Files.writeString(dir.resolve("pools.yaml"), yaml);
  }

  private static final String TWO_POOLS =
      """
      pools:
        - name: cpu
          hardware: cpu
          instance: {cloud: gcp, type: n2-standard-8}
          models: [small]
          endpoints: [http://cpu:8080]
          contextWindow: 2048
        - name: gpu
          hardware: gpu
          instance: {cloud: gcp, type: g2-standard-4}
          models: [big, small]
          endpoints: [http://gpu:8000]
          routing: PREFIX_AFFINITY
      """;

  @Test
  void withoutAFileOnePoolServesTheConfiguredModels() {
    LlmPools pools =
        LlmPools.of(config("--llm.endpoints", "http://a:1;http://b:2", "--llm.models", "x;y"));
    assertThat(pools.pools())
        .singleElement()
        .satisfies(
            pool -> {
              assertThat(pool.name()).isEqualTo("default");
              assertThat(pool.endpoints()).containsExactly("http://a:1", "http://b:2");
              assertThat(pool.routing()).isEqualTo(RoutingPolicy.LEAST_OUTSTANDING);
              assertThat(pool.usdPerHour()).isNaN();
            });
    assertThat(pools.models()).containsExactly("x", "y");
  }

  @Test
  void aFileGivesTheModelsInPoolOrderAndEachModelsLargestWindow() throws Exception {
    LlmPools pools =
        LlmPools.of(
            config(
                "--llm.pools-file", pools(TWO_POOLS).toString(), "--llm.context-window", "4096"));
    assertThat(pools.models()).containsExactly("small", "big");
    assertThat(pools.promptLimits())
        .isEqualTo(
            Map.of(
                "small",
                List.of(new PromptAssembler.Limit(2048, 0), new PromptAssembler.Limit(4096, 0)),
                "big",
                List.of(new PromptAssembler.Limit(4096, 0))));
    assertThat(pools.largestContextWindow()).isEqualTo(4096);
    assertThat(pools.pools().get(1).routing()).isEqualTo(RoutingPolicy.PREFIX_AFFINITY);
  }

  @Test
  void theJobRefusesToStartOnABadPoolNamingTheKey() throws Exception {
    String file = pools(TWO_POOLS.replace("n2-standard-8", "n2-standard-99")).toString();
    assertThatThrownBy(() -> new InferenceJob(config("--llm.pools-file", file)))
        .hasMessageContaining("pools[0].instance: gcp/n2-standard-99 is not in the price table");
    String good = pools(TWO_POOLS).toString();
    assertThatThrownBy(
            () ->
                new InferenceJob(config("--llm.pools-file", good, "--llm.endpoints", "http://x:1")))
        .hasMessageStartingWith("llm.endpoints is set beside llm.pools-file");
    assertThatThrownBy(
            () ->
                new InferenceJob(
                    config("--llm.pools-file", dir.resolve("missing.yaml").toString())))
        .hasMessageContaining("cannot read the pools file");
    assertThatThrownBy(
            () ->
                new InferenceJob(
                    config(
                        "--llm.pools-file",
                        good,
                        "--llm.prices-file",
                        Files.writeString(dir.resolve("prices.yaml"), "instances: []").toString())))
        .hasMessageContaining("lists no instances");
  }
}
