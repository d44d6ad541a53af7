package dev.streamrag.devstack;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Starts the stack, runs one load scenario through it, writes the report, stops everything. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = "Run a load scenario end to end on the local stack and write its report.")
final class RunCommand implements Callable<Integer> {
  @Mixin StackOptions stack;

  @Option(
      names = "--duration",
      description = "How long to send requests, e.g. 60s (bench.duration).")
  String duration;

  @Option(names = "--rate", description = "Requests per second (bench.rate).")
  String rate;

  @Option(
      names = "--results",
      defaultValue = "results",
      description = "Report folder (default: ${DEFAULT-VALUE}).")
  String results;

  @Override
  public Integer call() throws Exception {
    Map<String, String> own = new LinkedHashMap<>();
    if (duration != null) {
      own.put("bench.duration", duration);
    }
    if (rate != null) {
      own.put("bench.rate", rate);
    }
    own.put("bench.results-dir", results);
    Map<String, String> settings = stack.settings(own);
    Path log = stack.prepare();
    long started = System.nanoTime();
    try (LocalStack running =
        LocalStack.start(stack.dir, stack.uiPorts, settings, stack.fleet(), System.out::println)) {
      // Ctrl-C: stop jobs and servers before the JVM exits.
      Thread hook = new Thread(running::close, "stop-local-stack");
      Runtime.getRuntime().addShutdownHook(hook);
      System.out.printf(
          "stack up in %d s; Flink web UI %s; log %s%n",
          (System.nanoTime() - started) / 1_000_000_000L, running.webUi(), log.toAbsolutePath());
      ScenarioRun.run(running, settings, System.out);
      Runtime.getRuntime().removeShutdownHook(hook);
    }
    return 0;
  }
}
