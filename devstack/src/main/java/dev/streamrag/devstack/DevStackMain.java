package dev.streamrag.devstack;

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
    System.exit(new CommandLine(new DevStackMain()).execute(args));
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return 0;
  }
}
