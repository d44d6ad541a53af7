package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class McpToolsMainTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = new CommandLine(new McpToolsMain());
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @Test
  void helpNamesEveryOptionAndItsDefault() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString())
        .contains("--port", "8765")
        .contains("--corpus-seed", "42")
        .contains("--corpus-documents", "200")
        .contains("--tenants", "acme,globex")
        .contains("--drill-tools")
        .contains("--drill-sleep", "30s");
  }

  @Test
  void refusesSettingsOutOfRangeBeforeServing() {
    assertThat(run("--port", "70000")).isEqualTo(2);
    assertThat(err.toString()).contains("mcp-tools: port must be 0..65535");
    assertThat(run("--corpus-documents", "-1")).isEqualTo(2);
    assertThat(err.toString()).contains("must not be negative");
  }

  @Test
  void refusesWhatIsNotANumber() {
    assertThat(run("--port", "eighty")).isEqualTo(2);
    assertThat(err.toString()).contains("--port");
  }

  @Test
  void readsDrillSleepsAsDurations() {
    assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(DurationConverter.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(DurationConverter.parse("PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    assertThat(DurationConverter.format(Duration.ofSeconds(30))).isEqualTo("30s");
    assertThat(run("--drill-sleep", "soon")).isEqualTo(2);
    assertThat(err.toString()).contains("'soon' is not a duration");
    assertThat(run("--drill-tools", "--drill-sleep", "-1s")).isEqualTo(2);
    assertThat(err.toString()).contains("drill sleep must not be negative");
  }
}
