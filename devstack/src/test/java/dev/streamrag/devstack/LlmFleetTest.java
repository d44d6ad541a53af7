package dev.streamrag.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PoolsFile;
import dev.streamrag.jobs.llm.pools.PriceTable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LlmFleetTest {

  @Test
  void thePoolsFileItWritesIsOneTheJobAccepts() {
    LlmFleet fleet = LlmFleet.parse("cpu=llama-3.2-1b-cpu*2, gpu=qwen2.5-0.5b-l4");
    assertThat(fleet.servers()).isEqualTo(3);
    assertThat(fleet.model()).isEqualTo("llama-3.2-1b-cpu");
    String yaml =
        fleet.poolsYaml(
            Map.of(
                "cpu", List.of("http://127.0.0.1:1", "http://127.0.0.1:2"),
                "gpu", List.of("http://127.0.0.1:3")));

    // Read by the job's own parser, with the bundled prices: what the job will do at start.
    List<ModelPool> pools =
        PoolsFile.parse(
            yaml,
            "llm-pools.yaml",
            PriceTable.load(null),
            new PoolsFile.Defaults(RoutingPolicy.LEAST_OUTSTANDING, 8192));
    assertThat(pools).extracting(ModelPool::name).containsExactly("cpu", "gpu");
    ModelPool cpu = pools.get(0);
    assertThat(cpu.hardware()).isEqualTo(ModelPool.Hardware.CPU);
    assertThat(cpu.instance().key()).isEqualTo("aws/c7i.2xlarge");
    assertThat(cpu.contextWindow()).isEqualTo(2048);
    assertThat(cpu.maxConcurrency()).isEqualTo(4);
    assertThat(cpu.maxPromptTokens()).isEqualTo(512);
    assertThat(cpu.models()).containsExactly("llama-3.2-1b-cpu");
    ModelPool gpu = pools.get(1);
    assertThat(gpu.hardware()).isEqualTo(ModelPool.Hardware.GPU);
    assertThat(gpu.instance().key()).isEqualTo("aws/g6.xlarge");
    assertThat(gpu.maxPromptTokens()).isZero();
    assertThat(gpu.models()).containsExactly("llama-3.2-1b-cpu");
    // The H100 profile's instance has a space and a slash in its type: quoted, it still parses.
    assertThat(
            PoolsFile.parse(
                    LlmFleet.parse("h100=llama-3.1-8b-h100")
                        .poolsYaml(Map.of("h100", List.of("http://127.0.0.1:4"))),
                    "llm-pools.yaml",
                    PriceTable.load(null),
                    new PoolsFile.Defaults(RoutingPolicy.LEAST_OUTSTANDING, 8192))
                .get(0)
                .instance()
                .usdPerHour())
        .isEqualTo(12.29);
  }

  @Test
  void aBadSpecIsRefusedSayingWhatIsWrong() {
    assertThatThrownBy(() -> LlmFleet.parse("cpu=llama-9b-tpu"))
        .hasMessageContaining("pool 'cpu': unknown profile 'llama-9b-tpu'; bundled profiles");
    assertThatThrownBy(() -> LlmFleet.parse("llama-3.2-1b-cpu"))
        .hasMessageContaining("is not name=profile[*replicas]");
    assertThatThrownBy(() -> LlmFleet.parse("a=llama-3.2-1b-cpu*x"))
        .hasMessageContaining("replicas must be a number");
    assertThatThrownBy(() -> LlmFleet.parse("a=llama-3.2-1b-cpu*0"))
        .hasMessageContaining("at least one replica");
    assertThatThrownBy(() -> LlmFleet.parse("a=llama-3.2-1b-cpu,a=qwen2.5-0.5b-l4"))
        .hasMessageContaining("pool 'a' is named twice");
    assertThatThrownBy(() -> LlmFleet.parse("a=llama-3.2-1b-cpu*10,b=qwen2.5-0.5b-l4*7"))
        .hasMessageContaining("1 to 16 llm-sim servers, got 17");
    assertThatThrownBy(() -> LlmFleet.single("nope", 1)).hasMessageContaining("unknown profile");
  }

  @Test
  void theStackKeepsItsOwnLlmSettings() {
    assertThatThrownBy(() -> LocalStack.check(Map.of("llm.endpoints", "http://x:1")))
        .hasMessageStartingWith("llm.endpoints is the local stack's own");
    assertThatThrownBy(() -> LocalStack.check(Map.of("llm.pools-file", "/tmp/p.yaml")))
        .hasMessageContaining("--llm-pools");
  }
}
