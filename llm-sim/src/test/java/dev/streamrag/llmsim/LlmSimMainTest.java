package dev.streamrag.llmsim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class LlmSimMainTest {
  private static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new LlmSimMain())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(args);
    return new String[] {String.valueOf(code), out.toString(), err.toString()};
  }

  @Test
  void anUnknownProfileFailsWithTheListOfBundledOnes() {
    String[] result = run("--profile", "gpt-9", "--port", "0");
    assertThat(result[0]).isEqualTo("2");
    assertThat(result[2]).contains("unknown profile 'gpt-9'").contains("qwen2.5-0.5b-l4");
  }

  @Test
  void aMistypedOptionFailsWithUsage() {
    String[] result = run("--prot", "8000");
    assertThat(result[0]).isEqualTo("2");
    assertThat(result[2])
        .contains("Unknown option")
        .contains("'--prot'")
        .contains("Possible solutions: --profile");
  }

  @Test
  void helpListsTheOptions() {
    String[] result = run("--help");
    assertThat(result[0]).isEqualTo("0");
    assertThat(result[1]).contains("--profile").contains("--port").contains("--served-model-name");
    assertThat(result[1])
        .contains("--admin-endpoints")
        .contains("--api-key-file")
        .contains("--api-key")
        .contains("VLLM_API_KEY");
  }

  private static final String KEY = "sk-main-test-41c7";

  /** The options parsed, with {@code environment} as the process's; nothing started. */
  private static LlmSimMain parsed(Map<String, String> environment, String... args) {
    LlmSimMain main = new LlmSimMain(environment::get);
    new CommandLine(main).parseArgs(args);
    return main;
  }

  @Test
  void theKeyComesFromTheFileElseTheOptionElseVllmApiKey(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("key"), "  " + KEY + "\n");
    Map<String, String> environment = Map.of("VLLM_API_KEY", "from-env");

    LlmSimMain.ApiKey fromFile =
        parsed(environment, "--api-key-file", file.toString()).resolveApiKey();
    assertThat(fromFile.value()).isEqualTo(KEY);
    assertThat(fromFile.source()).isEqualTo("--api-key-file");
    assertThat(fromFile.toString()).doesNotContain(KEY);

    assertThat(parsed(environment, "--api-key", KEY).resolveApiKey().value()).isEqualTo(KEY);

    LlmSimMain.ApiKey fromEnvironment = parsed(environment).resolveApiKey();
    assertThat(fromEnvironment.value()).isEqualTo("from-env");
    assertThat(fromEnvironment.source()).isEqualTo("VLLM_API_KEY");

    // As vLLM: an empty variable is no key.
    assertThat(parsed(Map.of("VLLM_API_KEY", "")).resolveApiKey().value()).isNull();
    assertThat(parsed(Map.of()).resolveApiKey().value()).isNull();
  }

  @Test
  void adminEndpointsAreOffUnlessTheFlagOrItsVariableTurnsThemOn() {
    assertThat(parsed(Map.of()).adminEndpoints).isFalse();
    assertThat(parsed(Map.of(), "--admin-endpoints").adminEndpoints).isTrue();
  }

  @Test
  void bothKeyOptionsAreRefusedWithoutEchoingTheKey(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("key"), KEY);
    String[] result =
        run("--port", "0", "--api-key-file", file.toString(), "--api-key", KEY + "-other");
    assertThat(result[0]).isEqualTo("2");
    assertThat(result[2]).contains("not both").doesNotContain(KEY);
  }

  @Test
  void anEmptyOrMissingKeyFileFailsInsteadOfLeavingTheServerOpen(@TempDir Path dir)
      throws Exception {
    Path empty = Files.writeString(dir.resolve("empty"), " \n");
    String[] result = run("--port", "0", "--api-key-file", empty.toString());
    assertThat(result[0]).isEqualTo("2");
    assertThat(result[2]).contains("is empty");

    result = run("--port", "0", "--api-key-file", dir.resolve("absent").toString());
    assertThat(result[0]).isEqualTo("2");
    assertThat(result[2]).contains("cannot read --api-key-file").contains("absent");
  }
}
