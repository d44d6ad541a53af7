package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.RequestKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class GatewayMainTest {
  private static final List<String> OPTIONS =
      List.of(
          "--bootstrap-servers",
          "--requests-topic",
          "--pieces-topic",
          "--reply-partition",
          "--host",
          "--port",
          "--api-keys",
          "--api-key",
          "--models",
          "--default-kind",
          "--default-timeout",
          "--max-timeout",
          "--deadline-grace",
          "--max-body-bytes",
          "--max-streams",
          "--max-client-buffer-bytes",
          "--kafka-timeout",
          "--event-loops");

  private record Run(int exitCode, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new GatewayMain());
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(err));
    int code = command.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void helpListsEveryOptionAndItsEnvironmentVariable() {
    Run help = run("--help");
    assertThat(help.exitCode()).isZero();
    for (String option : OPTIONS) {
      assertThat(help.out()).contains(option);
    }
    for (String option : OPTIONS) {
      if (option.equals("--api-key")) {
        continue; // repeatable; keys in the environment go through --api-keys FILE
      }
      String env = "STREAMRAG_GATEWAY_" + option.substring(2).replace('-', '_').toUpperCase();
      assertThat(help.out()).contains(env);
    }
  }

  @Test
  void optionsBecomeTheConfiguration(@TempDir Path dir) throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.writeString(keys, "# demo\nsk-1 acme\n");
    GatewayMain main = new GatewayMain();
    new CommandLine(main)
        .parseArgs(
            "--bootstrap-servers=127.0.0.1:1",
            "--reply-partition=2",
            "--port=0",
            "--api-keys=" + keys,
            "--api-key=sk-2=globex",
            "--models=a, b",
            "--default-kind=RAG",
            "--default-timeout=500ms",
            "--max-timeout=PT1M",
            "--deadline-grace=1s",
            "--max-streams=7",
            "--kafka-timeout=3s",
            "--event-loops=2");
    GatewayConfig config = main.config();
    assertThat(config.kafka().bootstrapServers()).isEqualTo("127.0.0.1:1");
    assertThat(config.kafka().requestsTopic()).isEqualTo("rag.requests");
    assertThat(config.kafka().piecesTopic()).isEqualTo("rag.pieces");
    assertThat(config.kafka().replyPartition()).isEqualTo(2);
    assertThat(config.kafka().timeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.port()).isZero();
    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.apiKeys()).extracting(e -> e.tenant()).containsExactly("acme", "globex");
    assertThat(config.models()).containsExactly("a", "b");
    assertThat(config.defaultKind()).isEqualTo(RequestKind.RAG);
    assertThat(config.defaultTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(config.maxTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(config.deadlineGrace()).isEqualTo(Duration.ofSeconds(1));
    assertThat(config.maxStreams()).isEqualTo(7);
    assertThat(config.maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(config.eventLoops()).isEqualTo(2);
  }

  @Test
  void badSettingsExitWithTwoAndAMessage() {
    Run noKeys = run("--port=0");
    assertThat(noKeys.exitCode()).isEqualTo(2);
    assertThat(noKeys.err()).contains("no API keys configured");

    Run badKey = run("--port=0", "--api-key=nokey");
    assertThat(badKey.exitCode()).isEqualTo(2);
    assertThat(badKey.err()).contains("--api-key #1: expected KEY=TENANT");

    Run badDuration = run("--default-timeout=soon", "--api-key=k=t");
    assertThat(badDuration.exitCode()).isEqualTo(2);
    assertThat(badDuration.err()).contains("'soon' is not a duration");

    Run agent = run("--default-kind=AGENT", "--api-key=k=t");
    assertThat(agent.exitCode()).isEqualTo(2);
    assertThat(agent.err()).contains("CHAT or RAG");
  }

  @Test
  void durations() {
    assertThat(DurationConverter.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(DurationConverter.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(DurationConverter.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(DurationConverter.parse("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(DurationConverter.parse("PT2S")).isEqualTo(Duration.ofSeconds(2));
    assertThatThrownBy(() -> DurationConverter.parse("5x"))
        .isInstanceOf(CommandLine.TypeConversionException.class);
  }
}
