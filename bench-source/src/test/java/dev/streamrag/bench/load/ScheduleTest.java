package dev.streamrag.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScheduleTest {
  static Scenario scenario(String... flags) {
    return Scenario.from(JobConfig.load(flags, Map.of(), BenchOptions.ALL));
  }

  @Test
  void constantArrivalsAreEvenlySpaced() {
    Schedule s =
        Schedule.of(
            scenario(
                "--bench.arrival", "CONSTANT", "--bench.rate", "20", "--bench.duration", "10 s"));
    assertThat(s.size()).isEqualTo(200);
    assertThat(s.offsetsNanos()[1] - s.offsetsNanos()[0]).isEqualTo(50_000_000L);
    assertThat(s.offsetsNanos()[199]).isEqualTo(9_950_000_000L);
  }

  @Test
  void poissonHasTheRateOnAverageAndExponentialGaps() {
    Schedule s =
        Schedule.of(
            scenario(
                "--bench.arrival", "POISSON", "--bench.rate", "100", "--bench.duration", "200 s"));
    // 20,000 expected; a Poisson count has sd sqrt(20000) ≈ 141.
    assertThat(s.size()).isBetween(19_500, 20_500);
    long[] o = s.offsetsNanos();
    int shortGaps = 0;
    for (int i = 1; i < o.length; i++) {
      assertThat(o[i]).isGreaterThanOrEqualTo(o[i - 1]);
      if (o[i] - o[i - 1] < 10_000_000L) {
        shortGaps++;
      }
    }
    // P(gap < mean) = 1 - 1/e ≈ 63%, unlike evenly spaced arrivals (0%).
    assertThat((double) shortGaps / o.length).isBetween(0.60, 0.66);
    // Same seed, same schedule.
    assertThat(
            Schedule.of(
                    scenario(
                        "--bench.arrival",
                        "POISSON",
                        "--bench.rate",
                        "100",
                        "--bench.duration",
                        "200 s"))
                .offsetsNanos())
        .isEqualTo(o);
  }

  @Test
  void burstsAreSilentInOffPhasesAndKeepTheAverageRate() {
    Schedule s =
        Schedule.of(
            scenario(
                "--bench.arrival",
                "BURSTY",
                "--bench.rate",
                "50",
                "--bench.duration",
                "100 s",
                "--bench.burst-on",
                "1 s",
                "--bench.burst-off",
                "3 s"));
    assertThat(s.size()).isBetween(4_700, 5_300);
    for (long offset : s.offsetsNanos()) {
      assertThat(offset % 4_000_000_000L).isLessThan(1_000_000_000L);
    }
  }

  @Test
  void rampRisesFromTheStartRateToTheEndRate() {
    Schedule s =
        Schedule.of(
            scenario(
                "--bench.arrival",
                "RAMP",
                "--bench.rate",
                "10",
                "--bench.ramp-to",
                "30",
                "--bench.duration",
                "20 s"));
    // The average of a linear ramp from 10 to 30 over 20 s: 400 requests.
    assertThat(s.size()).isBetween(395, 405);
    long[] o = s.offsetsNanos();
    assertThat(o[1] - o[0]).isEqualTo(100_000_000L);
    assertThat(o[o.length - 1] - o[o.length - 2]).isBetween(33_000_000L, 34_500_000L);
  }

  @Test
  void tracesGiveTimesAndLengths(@TempDir Path dir) throws Exception {
    Path trace = dir.resolve("trace.csv");
    Files.writeString(trace, "# offsetMillis,promptChars,maxTokens\n0,100,16\n250.5\n1000,50\n");
    Schedule s =
        Schedule.of(scenario("--bench.arrival", "TRACE", "--bench.trace-file", trace.toString()));
    assertThat(s.offsetsNanos()).containsExactly(0L, 250_500_000L, 1_000_000_000L);
    assertThat(s.promptChars()).containsExactly(100, 0, 50);
    assertThat(s.maxTokens()).containsExactly(16, 0, 0);

    Files.writeString(trace, "10\n5\n");
    assertThatThrownBy(
            () ->
                Schedule.of(
                    scenario("--bench.arrival", "TRACE", "--bench.trace-file", trace.toString())))
        .hasMessageContaining("line 2");
  }

  @Test
  void badScenariosFailWithTheSetting() {
    assertThatThrownBy(() -> scenario("--bench.rate", "0")).hasMessageContaining("bench.rate");
    assertThatThrownBy(() -> scenario("--bench.arrival", "TRACE"))
        .hasMessageContaining("bench.trace-file");
    assertThatThrownBy(() -> scenario("--bench.max-tokens", "normal:3"))
        .hasMessageContaining("lognormal:MEDIAN,SIGMA");
    assertThatThrownBy(
            () ->
                Schedule.of(
                    scenario(
                        "--bench.rate",
                        "1000",
                        "--bench.duration",
                        "1 h",
                        "--bench.max-requests",
                        "1000")))
        .hasMessageContaining("bench.max-requests");
    assertThatThrownBy(() -> scenario("--bench.agent-share", "1.5"))
        .hasMessage("bench.agent-share must be in [0, 1], got 1.5");
    assertThatThrownBy(() -> scenario("--bench.agent-share", "-0.1"))
        .hasMessageContaining("bench.agent-share");
    assertThatThrownBy(
            () ->
                scenario(
                    "--bench.agent-share",
                    "0.2",
                    "--bench.target",
                    "GATEWAY",
                    "--bench.gateway-url",
                    "http://127.0.0.1:8080"))
        .hasMessageContaining("bench.agent-share needs bench.target KAFKA");
    assertThat(scenario("--bench.target", "GATEWAY", "--bench.gateway-url", "http://g:1").rate())
        .as("no agents: the gateway is fine")
        .isPositive();
  }
}
