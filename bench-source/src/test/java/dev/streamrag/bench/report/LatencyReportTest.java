package dev.streamrag.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
}
