package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.RequestKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

class GatewayMainTest {
  private static final String KEY = "sk-acme-0123456789abcdef";

  private record Run(int exitCode, String out, String err) {}

  private static Run run(Map<String, String> environment, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = GatewayMain.commandLine(environment);
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(err));
    int code = command.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  private static GatewayMain parse(Map<String, String> environment, String... args) {
    CommandLine command = GatewayMain.commandLine(environment);
    command.parseArgs(args);
    return command.getCommand();
  }

  private static GatewayConfig config(GatewayMain main) {
    return main.config(new PrintWriter(new StringWriter()));
  }

  private static Path keysFile(Path dir, String content) throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.writeString(keys, content);
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
    return keys;
  }

  /** Docs follow code: the README's options table is exactly what the options declare. */
  @Test
  void theReadmeListsEveryOptionAsDeclared() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    assertThat(readme)
        .as(
            "gateway/README.md must contain the table GatewayMain.optionsTable() renders; paste it"
                + " from this message")
        .contains(GatewayMain.optionsTable());
  }

  @Test
  void helpListsEveryOptionWithItsDefaultAndTheEnvironmentRule() {
    Run help = run(Map.of(), "--help");
    assertThat(help.exitCode()).isZero();
    for (OptionSpec option : GatewayMain.commandLine(Map.of()).getCommandSpec().options()) {
      assertThat(help.out()).contains(option.longestName());
    }
    assertThat(help.out())
        .contains("Default: 1000")
        .contains("Default: 30s")
        .contains("STREAMRAG_GATEWAY_<OPTION>")
        .contains("STREAMRAG_GATEWAY_MAX_STREAMS")
        .contains("STREAMRAG_GATEWAY_API_KEYS")
        .doesNotContain("--api-key ");
  }

  @Test
  void defaultsAreTheConfigsDefaults(@TempDir Path dir) throws Exception {
    GatewayConfig fromOptions =
        config(parse(Map.of(), "--api-keys-file=" + keysFile(dir, KEY + " acme\n")));
    GatewayConfig built = GatewayConfig.builder().addApiKey(KEY, "acme").build();
    assertThat(fromOptions).usingRecursiveComparison().ignoringFields("apiKeys").isEqualTo(built);
  }

  @Test
  void optionsBecomeTheConfiguration(@TempDir Path dir) throws Exception {
    Path keys = keysFile(dir, "# demo\n" + KEY + " acme\n");
    GatewayMain main =
        parse(
            Map.of(GatewayMain.API_KEYS_ENV, "sk-globex-0123456789abcdef=globex"),
            "--bootstrap-servers=127.0.0.1:1",
            "--reply-partition=2",
            "--port=0",
            "--management-port=0",
            "--api-keys-file=" + keys,
            "--models=a, b",
            "--indexes=docs,faq",
            "--default-kind=RAG",
            "--default-timeout=500ms",
            "--max-timeout=PT1M",
            "--deadline-grace=1s",
            "--max-streams=7",
            "--max-connections=9",
            "--idle-timeout=5s",
            "--body-timeout=2s",
            "--sse-keep-alive=3s",
            "--drain-timeout=4s",
            "--shutdown-grace=6s",
            "--kafka-timeout=3s",
            "--health-interval=250ms",
            "--event-loops=2");
    GatewayConfig config = config(main);
    assertThat(config.kafka().bootstrapServers()).isEqualTo("127.0.0.1:1");
    assertThat(config.kafka().requestsTopic()).isEqualTo("rag.requests");
    assertThat(config.kafka().piecesTopic()).isEqualTo("rag.pieces");
    assertThat(config.kafka().replyPartition()).isEqualTo(2);
    assertThat(config.kafka().timeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.healthInterval()).isEqualTo(Duration.ofMillis(250));
    assertThat(config.port()).isZero();
    assertThat(config.managementPort()).isZero();
    assertThat(config.separateManagement()).isTrue();
    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.apiKeys()).extracting(e -> e.tenant()).containsExactly("acme", "globex");
    assertThat(config.models()).containsExactly("a", "b");
    assertThat(config.indexes()).containsExactly("docs", "faq");
    assertThat(config.defaultKind()).isEqualTo(RequestKind.RAG);
    assertThat(config.defaultTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(config.maxTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(config.deadlineGrace()).isEqualTo(Duration.ofSeconds(1));
    assertThat(config.maxStreams()).isEqualTo(7);
    assertThat(config.maxConnections()).isEqualTo(9);
    assertThat(config.idleTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.bodyTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.sseKeepAlive()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.drainTimeout()).isEqualTo(Duration.ofSeconds(4));
    assertThat(config.shutdownGrace()).isEqualTo(Duration.ofSeconds(6));
    assertThat(config.maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(config.eventLoops()).isEqualTo(2);
  }

  @Test
  void theEnvironmentSetsOptionsAndTheCommandLineWins(@TempDir Path dir) throws Exception {
    Map<String, String> environment =
        Map.of(
            "STREAMRAG_GATEWAY_MAX_STREAMS", "11",
            "STREAMRAG_GATEWAY_DEFAULT_TIMEOUT", "2s",
            "STREAMRAG_GATEWAY_API_KEYS_FILE", keysFile(dir, KEY + " acme\n").toString());
    GatewayConfig config = config(parse(environment, "--default-timeout=3s"));
    assertThat(config.maxStreams()).isEqualTo(11);
    assertThat(config.defaultTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.apiKeys()).extracting(e -> e.tenant()).containsExactly("acme");
  }

  @Test
  void badSettingsExitWithTwoAndAMessage(@TempDir Path dir) throws Exception {
    Map<String, String> keys = Map.of(GatewayMain.API_KEYS_ENV, KEY + "=acme");
    Run noKeys = run(Map.of(), "--port=0");
    assertThat(noKeys.exitCode()).isEqualTo(2);
    assertThat(noKeys.err()).contains("no API keys configured");

    Run badKey = run(Map.of(GatewayMain.API_KEYS_ENV, "nokey"), "--port=0");
    assertThat(badKey.exitCode()).isEqualTo(2);
    assertThat(badKey.err()).contains("STREAMRAG_GATEWAY_API_KEYS entry #1: expected key=tenant");

    Run onTheCommandLine = run(keys, "--api-key=" + KEY + "=acme");
    assertThat(onTheCommandLine.exitCode()).as("keys never on the command line").isEqualTo(2);
    assertThat(onTheCommandLine.err()).contains("Unknown option: '--api-key");

    Run badDuration = run(keys, "--default-timeout=soon");
    assertThat(badDuration.exitCode()).isEqualTo(2);
    assertThat(badDuration.err()).contains("'soon' is not a duration");

    Run agent = run(keys, "--default-kind=AGENT");
    assertThat(agent.exitCode()).isEqualTo(2);
    assertThat(agent.err()).contains("CHAT or RAG");

    Run tooLarge = run(keys, "--max-body-bytes=2000000");
    assertThat(tooLarge.exitCode()).isEqualTo(2);
    assertThat(tooLarge.err()).contains("max body bytes must be between 1024 and 1048576");

    Path kafkaProperties = dir.resolve("kafka.properties");
    Files.writeString(
        kafkaProperties,
        "security.protocol=SASL_SSL\nsasl.jaas.config=org.apache.kafka.common.security.scram"
            + ".ScramLoginModule required username=\"gw\" password=\"hunter2\";\n");
    Run secretWrittenOut = run(keys, "--kafka-properties-file=" + kafkaProperties);
    assertThat(secretWrittenOut.exitCode()).isEqualTo(2);
    assertThat(secretWrittenOut.err())
        .contains("sasl.jaas.config has a password")
        .doesNotContain("hunter2");

    Run badIndex = run(keys, "--indexes=docs,*");
    assertThat(badIndex.exitCode()).isEqualTo(2);
    assertThat(badIndex.err()).contains("--indexes: '*' is not a plain index name");
  }

  @Test
  void aKeysFileOthersCanReadIsAWarningOrWithStrictKeysFileAnError(@TempDir Path dir)
      throws Exception {
    Path keys = keysFile(dir, KEY + " acme\n");
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-r--r--"));
    StringWriter warnings = new StringWriter();
    GatewayConfig config =
        parse(Map.of(), "--api-keys-file=" + keys).config(new PrintWriter(warnings));
    assertThat(config.apiKeys()).hasSize(1);
    assertThat(warnings.toString()).contains("warning: API keys file").contains("chmod 600");

    Run strict = run(Map.of(), "--api-keys-file=" + keys, "--strict-keys-file");
    assertThat(strict.exitCode()).isEqualTo(2);
    assertThat(strict.err()).contains("accessible to its group or others");
  }

  @Test
  void shortKeysAreRefusedAtStart() {
    Run shortKey = run(Map.of(GatewayMain.API_KEYS_ENV, "sk-local-acme=acme"), "--port=0");
    assertThat(shortKey.exitCode()).isEqualTo(2);
    assertThat(shortKey.err())
        .contains("STREAMRAG_GATEWAY_API_KEYS entry #1: the key is shorter than 16 characters")
        .doesNotContain("sk-local-acme");
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
    for (Duration duration :
        List.of(
            Duration.ofMillis(250),
            Duration.ofMillis(1500),
            Duration.ofSeconds(30),
            Duration.ofSeconds(90),
            Duration.ofMinutes(5),
            Duration.ofHours(2),
            Duration.ZERO)) {
      assertThat(DurationConverter.parse(DurationConverter.format(duration))).isEqualTo(duration);
    }
    assertThat(DurationConverter.format(Duration.ofMinutes(5))).isEqualTo("5m");
  }
}
