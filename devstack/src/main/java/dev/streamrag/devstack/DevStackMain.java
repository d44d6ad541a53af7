package dev.streamrag.devstack;

import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./streamrag run | up | ask}: the local stack's command line. */
@Command(
    name = "streamrag",
    mixinStandardHelpOptions = true,
    description = "streamrag on this machine: real Kafka, OpenSearch, Redis, llm-sim and Flink.",
    subcommands = {RunCommand.class, MatrixCommand.class, UpCommand.class, AskCommand.class})
public final class DevStackMain implements Callable<Integer> {
  public static void main(String[] args) {
    System.exit(
        new CommandLine(new DevStackMain())
            .setExecutionExceptionHandler(DevStackMain::explain)
            .execute(args));
  }

  /**
   * A bad setting or scenario is the user's to fix: one line saying what, not a stack trace.
   * Anything else is ours, and keeps its trace.
   */
  private static int explain(Exception e, CommandLine command, CommandLine.ParseResult parsed)
      throws Exception {
    if (e instanceof IllegalArgumentException) {
      command.getErr().println("streamrag: " + e.getMessage());
      return 2;
    }
    if (e instanceof UncheckedIOException io) {
      command
          .getErr()
          .println("streamrag: " + io.getMessage() + " (" + io.getCause().getMessage() + ")");
      return 2;
    }
    throw e;
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return 0;
  }
}
