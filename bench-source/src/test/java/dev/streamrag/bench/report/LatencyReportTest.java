package dev.streamrag.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LatencyReportTest {
  private static Instant readFrom(String... args) {
    return LatencyReport.readFrom(JobConfig.load(args, Map.of(), BenchOptions.ALL));
  }

  @Test
  void reportFromIsAUtcTimeOrAbsent() {
    assertThat(readFrom()).isNull();
    assertThat(readFrom("--bench.report-from", "2026-11-23T17:00:00Z"))
        .isEqualTo(Instant.parse("2026-11-23T17:00:00Z"));
    assertThatThrownBy(() -> readFrom("--bench.report-from", "yesterday"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "bench.report-from must be a UTC time like 2026-11-23T17:00:00Z, got 'yesterday'");
  }

  @Test
  void aBadPoolsFileIsRefusedNamingTheKey(@TempDir Path dir) throws IOException {
    Path pools = dir.resolve("pools.yaml");
    Files.writeString(
        pools,
        """
        pools:
          - name: gpu
            hardware: gpu
            instance: {cloud: aws, type: no-such-type}
            models: [m]
            endpoints: [http://llm:8000]
        """);
    String[] args = {"--bench.pools-file", pools.toString()};

    assertThatThrownBy(
            () -> LatencyReport.costModel(JobConfig.load(args, Map.of(), BenchOptions.ALL)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pools[0].instance")
        .hasMessageContaining("aws/no-such-type is not in the price table");
  }

  @Test
  void poolsArePricedFromTheReportsPriceTable(@TempDir Path dir) throws IOException {
    Path prices = dir.resolve("prices.yaml");
    Files.writeString(
        prices, "instances:\n  - {cloud: lab, type: box, hardware: cpu, usdPerHour: 2.5}\n");
    Path pools = dir.resolve("pools.yaml");
    Files.writeString(
        pools,
        """
        pools:
          - name: lab
            hardware: cpu
            instance: {cloud: lab, type: box}
            models: [m]
            endpoints: [http://a:1, http://b:1]
        """);
    String[] args = {
      "--bench.prices-file", prices.toString(), "--bench.pools-file", pools.toString()
    };

    CostModel model = LatencyReport.costModel(JobConfig.load(args, Map.of(), BenchOptions.ALL));

    assertThat(model.pools())
        .singleElement()
        .satisfies(p -> assertThat(p.usdPerHour()).isEqualTo(5.0));
  }
}
