package dev.streamrag.devstack;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Several scenarios on one stack, compared side by side: a matrix file lists them, or a saturation
 * search raises the rate until goodput falls below a share.
 */
@Command(
    name = "matrix",
    mixinStandardHelpOptions = true,
    description = {
      "Run several scenarios on one stack and compare them in one report.",
      "Either --matrix FILE (YAML: 'base' settings and a list of 'scenarios', each a name and"
          + " settings, inference job settings included), or --saturate to raise bench.rate from"
          + " --from by --step until goodput drops below --goodput (or --to is passed)."
    })
final class MatrixCommand implements Callable<Integer> {
  @Mixin StackOptions stack;

  @Option(names = "--matrix", description = "The matrix file.")
  Path matrix;

  @Option(names = "--saturate", description = "Saturation search instead of a matrix file.")
  boolean saturate;

  @Option(
      names = "--from",
      defaultValue = "5",
      description = "Saturation: first rate (default: ${DEFAULT-VALUE}).")
  double from;

  @Option(
      names = "--step",
      defaultValue = "5",
      description = "Saturation: rate step (default: ${DEFAULT-VALUE}).")
  double step;

  @Option(
      names = "--to",
      defaultValue = "200",
      description = "Saturation: highest rate (default: ${DEFAULT-VALUE}).")
  double to;

  @Option(
      names = "--goodput",
      defaultValue = "0.9",
      description =
          "Saturation: the share of requests that must meet the SLO (default: ${DEFAULT-VALUE}).")
  double goodput;

  @Option(
      names = "--results",
      defaultValue = "results",
      description = "Report folder (default: ${DEFAULT-VALUE}).")
  Path results;

  @Override
  public Integer call() throws Exception {
    if ((matrix == null) == !saturate) {
      System.err.println("give either --matrix FILE or --saturate");
      return 2;
    }
    // The matrix file's base, then --scenario and --set: the command line wins.
    Map<String, String> base = new LinkedHashMap<>();
    List<Matrix.Entry> entries = new ArrayList<>();
    if (matrix != null) {
      Matrix file = Matrix.read(matrix);
      base.putAll(file.base());
      entries.addAll(file.entries());
    }
    base.putAll(stack.settings(Map.of()));
    stack.prepare();
    try (LocalStack running =
        LocalStack.start(stack.dir, stack.uiPorts, base, stack.fleet(), System.out::println)) {
      Thread hook = new Thread(running::close, "stop-local-stack");
      Runtime.getRuntime().addShutdownHook(hook);
      System.out.println("Flink web UI " + running.webUi() + "; metrics " + running.metricsUrl());
      MatrixRun run = new MatrixRun(running, base, results, System.out);
      if (saturate) {
        run.saturate(from, step, to, goodput);
      } else {
        for (Matrix.Entry entry : entries) {
          run.run(entry);
        }
      }
      Path report = run.write(saturate ? goodput : Double.NaN);
      System.out.println("comparison: " + report.toAbsolutePath());
      Runtime.getRuntime().removeShutdownHook(hook);
    }
    return 0;
  }
}
