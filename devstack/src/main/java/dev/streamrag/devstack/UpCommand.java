package dev.streamrag.devstack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Starts the stack and keeps it running for the user's own requests until Ctrl-C. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = "Start the local stack and keep it running (Ctrl-C stops it).")
final class UpCommand implements Callable<Integer> {
  /** Where {@code up} writes the endpoints that {@code ask} reads. */
  static final String ENDPOINTS_FILE = "stack.properties";

  @Mixin StackOptions stack;

  @Override
  public Integer call() throws Exception {
    stack.prepare();
    Map<String, String> settings = new LinkedHashMap<>(stack.settings(Map.of()));
    // For people and their tools: answers and pieces as plain JSON, readable by any consumer.
    settings.putIfAbsent("inference.responses-format", "JSON");
    settings.putIfAbsent("pieces.format", "JSON");
    LocalStack running =
        LocalStack.start(stack.dir, stack.uiPorts, settings, stack.fleet(), System.out::println);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("\nstopping ...");
                  running.close();
                  stopped.countDown();
                },
                "stop-local-stack"));
    Map<String, String> endpoints = running.endpoints();
    Properties properties = new Properties();
    properties.putAll(endpoints);
    Path file = stack.dir.resolve(ENDPOINTS_FILE);
    try (var writer = Files.newBufferedWriter(file)) {
      properties.store(writer, "endpoints of the running local stack");
    }
    System.out.println(
        "\nThe stack is up (Ctrl-C stops it). Endpoints, also in " + file.toAbsolutePath() + ":");
    endpoints.forEach((k, v) -> System.out.printf("  %-26s %s%n", k, v));
    System.out.println(Examples.text(endpoints, settings));
    stopped.await();
    return 0;
  }
}
