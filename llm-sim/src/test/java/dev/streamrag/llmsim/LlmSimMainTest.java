package dev.streamrag.llmsim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
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
  }
}
