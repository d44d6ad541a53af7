package dev.streamrag.jobs.llm.pools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.schemas.RequestKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolsFileTest {
  private static final PriceTable PRICES = PriceTable.load(null);
  private static final PoolsFile.Defaults DEFAULTS =
      new PoolsFile.Defaults(RoutingPolicy.LEAST_OUTSTANDING, 8192);

  private static final String VALID =
      """
      pools:
        - name: cpu
          hardware: cpu
          instance: {cloud: aws, type: c7i.2xlarge}
          models: [llama-3.2-1b]
          endpoints: [http://cpu-0:8080, http://cpu-1:8080]
          routing: prefix_affinity
          contextWindow: 2048
          maxConcurrency: 4
          maxPromptTokens: 600
          kinds: [CHAT]
        - name: gpu
          hardware: GPU
          instance: {cloud: aws, type: g6.xlarge}
          models: [llama-3.2-1b, qwen2.5-0.5b]
          endpoints: [http://gpu-0:8000/v1]
      """;

  private static List<ModelPool> parse(String yaml) {
    return PoolsFile.parse(yaml, "pools.yaml", PRICES, DEFAULTS);
  }

  @Test
  void readsPoolsWithTheirPricesAndDefaults() {
    List<ModelPool> pools = parse(VALID);

    assertThat(pools).extracting(ModelPool::name).containsExactly("cpu", "gpu");
    ModelPool cpu = pools.get(0);
    assertThat(cpu.hardware()).isEqualTo(ModelPool.Hardware.CPU);
    assertThat(cpu.routing()).isEqualTo(RoutingPolicy.PREFIX_AFFINITY);
    assertThat(cpu.instance().usdPerHour()).isEqualTo(0.357);
    assertThat(cpu.usdPerHour()).isEqualTo(0.714);
    assertThat(cpu.kinds()).containsExactly(RequestKind.CHAT);
    assertThat(cpu.capacityPerTask(2)).isEqualTo(4);
    assertThat(cpu.capacityPerTask(3)).as("rounded up").isEqualTo(3);
    ModelPool gpu = pools.get(1);
    assertThat(gpu.routing()).isEqualTo(RoutingPolicy.LEAST_OUTSTANDING);
    assertThat(gpu.contextWindow()).isEqualTo(8192);
    assertThat(gpu.maxConcurrency()).isZero();
    assertThat(gpu.capacityPerTask(2)).isEqualTo(Integer.MAX_VALUE);
    assertThat(gpu.takes(RequestKind.RAG)).isTrue();
  }

  @Test
  void refusesAnInstanceThePriceTableDoesNotListNamingTheKey() {
    assertThatThrownBy(() -> parse(VALID.replace("c7i.2xlarge", "c7i.48xlarge")))
        .hasMessageStartingWith("pools.yaml: pools[0].instance: aws/c7i.48xlarge is not in the")
        .hasMessageContaining("aws/g6.xlarge");
    assertThatThrownBy(() -> parse(VALID.replace("instance: {cloud: aws, type: g6.xlarge}", "")))
        .hasMessageStartingWith("pools.yaml: pools[1].instance must name a priced instance");
  }

  @Test
  void refusesBadEndpointsNamingTheKey() {
    assertThatThrownBy(() -> parse(VALID.replace("http://cpu-1:8080", "cpu-1:8080")))
        .hasMessageStartingWith("pools.yaml: pools[0].endpoints[1]: 'cpu-1:8080' must be");
    assertThatThrownBy(() -> parse(VALID.replace("http://gpu-0:8000/v1", "http://cpu-0:8080")))
        .hasMessageStartingWith(
            "pools.yaml: pools[1].endpoints[0]: http://cpu-0:8080 is listed twice");
    assertThatThrownBy(
            () -> parse(VALID.replace("http://gpu-0:8000/v1", "http://user:secret@gpu-0:8000")))
        .hasMessageContaining("pools[1].endpoints[0]")
        .hasMessageContaining("no credentials");
    assertThatThrownBy(
            () -> parse(VALID.replace("endpoints: [http://gpu-0:8000/v1]", "endpoints: []")))
        .hasMessageStartingWith("pools.yaml: pools[1].endpoints must be a non-empty list");
  }

  @Test
  void refusesUnknownKeysAndValuesNamingTheKey() {
    assertThatThrownBy(() -> parse(VALID.replace("maxConcurrency", "maxConcurency")))
        .hasMessageStartingWith("pools.yaml: pools[0]: unknown key 'maxConcurency'");
    assertThatThrownBy(() -> parse(VALID.replace("hardware: cpu", "hardware: tpu")))
        .hasMessageStartingWith("pools.yaml: pools[0].hardware must be one of [GPU, CPU]");
    assertThatThrownBy(() -> parse(VALID.replace("routing: prefix_affinity", "routing: random")))
        .hasMessageStartingWith("pools.yaml: pools[0].routing must be one of");
    assertThatThrownBy(() -> parse(VALID.replace("kinds: [CHAT]", "kinds: [CHAT, SEARCH]")))
        .hasMessageStartingWith("pools.yaml: pools[0].kinds[1] must be one of");
    assertThatThrownBy(() -> parse(VALID.replace("maxPromptTokens: 600", "maxPromptTokens: 4096")))
        .hasMessageStartingWith("pools.yaml: pools[0].maxPromptTokens (4096) must be below");
    assertThatThrownBy(() -> parse(VALID.replace("maxConcurrency: 4", "maxConcurrency: -1")))
        .hasMessageStartingWith("pools.yaml: pools[0].maxConcurrency must be a whole number >= 0");
    assertThatThrownBy(() -> parse(VALID.replace("name: gpu", "name: cpu")))
        .hasMessageStartingWith("pools.yaml: pools[1].name: pool 'cpu' is defined twice");
    assertThatThrownBy(() -> parse(VALID.replace("name: gpu", "name: GPU pool")))
        .hasMessageStartingWith("pools.yaml: pools[1].name must be");
    assertThatThrownBy(() -> parse(VALID.replace("models: [llama-3.2-1b]", "models: []")))
        .hasMessageStartingWith("pools.yaml: pools[0].models must be a non-empty list");
    assertThatThrownBy(() -> parse("pools: []"))
        .hasMessageContaining("'pools' must be a non-empty");
    assertThatThrownBy(() -> parse("pool:\n  - name: x")).hasMessageContaining("'pools' must be");
    assertThatThrownBy(() -> parse("pools: [\"unclosed"))
        .hasMessageStartingWith("pools.yaml is not YAML");
  }

  @Test
  void refusesAKeyGivenTwiceAndOneServerWrittenTwoWays() {
    assertThatThrownBy(
            () ->
                parse(
                    VALID.replace(
                        "endpoints: [http://gpu-0:8000/v1]",
                        "endpoints: [http://gpu-0:8000/v1]\n    endpoints: [http://gpu-1:8000]")))
        .hasMessageContaining("pools.yaml is not YAML")
        .hasMessageContaining("endpoints");
    assertThatThrownBy(() -> parse(VALID.replace("http://gpu-0:8000/v1", "http://CPU-0:8080/v1/")))
        .hasMessageStartingWith(
            "pools.yaml: pools[1].endpoints[0]: http://CPU-0:8080/v1/ is listed");
    assertThatThrownBy(
            () -> parse(VALID.replace("maxConcurrency: 4", "maxConcurrency: 2000000000")))
        .hasMessageStartingWith("pools.yaml: pools[0].maxConcurrency must be at most 1000000");
  }
}
