package dev.streamrag.deploycheck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real tool the checks cross-check against (kubectl, prometheus, promtool), found from its {@code
 * *_BIN} variable or the PATH. Missing, a test fails where the run needs it (the {@code
 * STREAMRAG_REQUIRE_*} variable, which .ci/run sets for what the CI machine has) and is skipped,
 * saying why, elsewhere.
 */
record ExternalTool(Path binary) {
  /** What a finished run printed. */
  record Result(int exitCode, String stdout, String stderr) {}

  static ExternalTool require(
      String name, String binVariable, String requireVariable, String hint) {
    Optional<Path> found =
        Optional.ofNullable(System.getenv(binVariable))
            .map(Path::of)
            .or(
                () ->
                    Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                        .map(p -> Path.of(p, name))
                        .filter(Files::isExecutable)
                        .findFirst());
    String missing = name + " is not installed: " + hint + ", or set " + binVariable;
    if (found.isEmpty() && System.getenv(requireVariable) != null) {
      throw new IllegalStateException(missing + " (" + requireVariable + " is set)");
    }
    Assumptions.assumeTrue(found.isPresent(), missing);
    return new ExternalTool(found.get());
  }

  /** Runs the tool in {@code dir} and waits at most {@code timeout}. */
  Result run(Path dir, Duration timeout, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.addAll(List.of(args));
    Path out = Files.createTempFile("tool-", ".out");
    Path err = Files.createTempFile("tool-", ".err");
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish in " + timeout);
      }
      return new Result(
          process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
