package dev.streamrag.devstack;

import java.nio.file.Files;
import java.nio.file.Path;
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
    LocalStack running =
        LocalStack.start(stack.dir, stack.uiPorts, stack.settings(Map.of()), System.out::println);
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
    String kafka = endpoints.get("kafka.bootstrap-servers");
    System.out.println(
        "\nAsk a question:\n  ./streamrag ask --tenant acme \"How long is the <river>?\"\n"
            + "\nOr produce JSON requests with any Kafka client, e.g. kafka-console-producer:\n"
            + "  echo '{\"requestId\":\"r-1\",\"tenantId\":\"acme\",\"kind\":\"RAG\","
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Where is X headquartered?\"}]}' \\\n"
            + "    | kafka-console-producer.sh --bootstrap-server "
            + kafka
            + " --topic rag.requests\n"
            + "and read answers (read_committed) with:\n"
            + "  kafka-console-consumer.sh --bootstrap-server "
            + kafka
            + " --topic rag.responses --isolation-level read_committed --from-beginning\n"
            + "(answers are Avro; ./streamrag ask prints them decoded)");
    stopped.await();
    return 0;
  }
}
