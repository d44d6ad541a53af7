package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The failure drills' tools over HTTP, through the SDK's client: a server built with {@code
 * drillTools(true)} and a short sleep, so the drills take seconds, not minutes.
 */
@Timeout(60)
class DrillToolsIT {
  private static final Duration SLEEP = Duration.ofSeconds(2);

  private static McpToolsServer server;
  private static McpSyncClient client;

  @BeforeAll
  static void start() {
    server =
        McpToolsServer.builder()
            .port(0)
            .corpusDocuments(20)
            .drillTools(true)
            .drillSleep(SLEEP)
            .start();
    client = newClient(server);
    client.initialize();
  }

  @AfterAll
  static void stop() {
    try {
      if (client != null) {
        client.closeGracefully();
      }
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }

  private static McpSyncClient newClient(McpToolsServer on) {
    return McpClient.sync(
            HttpClientStreamableHttpTransport.builder(on.baseUrl())
                .endpoint(McpToolsServer.ENDPOINT_PATH)
                .build())
        .requestTimeout(Duration.ofSeconds(20))
        .build();
  }

  private static CallToolResult call(McpSyncClient on, String tool, Map<String, Object> arguments) {
    return on.callTool(CallToolRequest.builder(tool).arguments(arguments).build());
  }

  private static String text(CallToolResult result) {
    assertThat(result.content()).hasSize(1).first().isInstanceOf(TextContent.class);
    return ((TextContent) result.content().get(0)).text();
  }

  private static String success(CallToolResult result) {
    assertThat(result.isError()).as("error result: %s", result.content()).isNotEqualTo(true);
    return text(result);
  }

  private static String failure(CallToolResult result) {
    assertThat(result.isError()).as("isError of %s", result.content()).isTrue();
    return text(result);
  }

  @Test
  void servesTheDrillToolsBesideTheDemoTools() {
    Map<String, Tool> tools =
        client.listTools().tools().stream()
            .collect(Collectors.toMap(Tool::name, Function.identity()));
    assertThat(tools)
        .containsOnlyKeys(
            "lookup_entity",
            "compute",
            "list_entities",
            "drill_sleep",
            "drill_garbage",
            "drill_strict");
    assertThat(tools.get("drill_sleep").description())
        .isEqualTo("Sleeps for the drill's configured time, then answers 'slept'.");
    assertThat(tools.get("drill_garbage").description())
        .isEqualTo("Answers with garbage: a very long text that is not JSON.");
    assertThat(tools.get("drill_strict").description())
        .isEqualTo("Counts things strictly: needs a query and an integer count.");
    assertThat(tools.get("drill_sleep").inputSchema()).containsEntry("required", List.of("reason"));
    assertThat(tools.get("drill_garbage").inputSchema())
        .containsEntry("required", List.of("reason"));
    Map<String, Object> strict = tools.get("drill_strict").inputSchema();
    assertThat(strict).containsEntry("required", List.of("query", "count"));
    assertThat(strict.get("properties"))
        .isEqualTo(
            Map.of(
                "query",
                Map.of(
                    "type",
                    "string",
                    "description",
                    "What to count, e.g. \"apples\".",
                    "maxLength",
                    200),
                "count",
                Map.of("type", "integer", "description", "How many to count, a whole number.")));
  }

  /**
   * While one call sleeps, the server answers others: from a second session, and from the same
   * session on another thread. The sleep holds one of Tomcat's request threads, nothing shared.
   */
  @Test
  void aSleepingCallHoldsOnlyItsOwnRequestThread() throws Exception {
    long started = System.nanoTime();
    CompletableFuture<CallToolResult> sleeping =
        CompletableFuture.supplyAsync(
            () -> call(client, "drill_sleep", Map.of("reason", "concurrency drill")));
    Thread sleeper = await(DrillToolsIT::sleepingThread, Duration.ofSeconds(10));
    assertThat(sleeper.getName()).as("Tomcat's request thread").startsWith("http-nio-");

    CompletableFuture<String> sameSession =
        CompletableFuture.supplyAsync(
            () -> success(call(client, "compute", Map.of("expression", "1 + 1"))));
    assertThat(sameSession.get(SLEEP.toMillis() / 2, TimeUnit.MILLISECONDS)).isEqualTo("2");
    McpSyncClient other = newClient(server);
    try {
      other.initialize();
      assertThat(success(call(other, "compute", Map.of("expression", "2 + 2")))).isEqualTo("4");
    } finally {
      other.closeGracefully();
    }
    assertThat(sleeping.isDone()).as("still sleeping while the others were answered").isFalse();

    assertThat(success(sleeping.get(SLEEP.toSeconds() + 10, TimeUnit.SECONDS))).isEqualTo("slept");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(SLEEP);
  }

  /** A call answered once is answered again at once: the remembered result, not a second sleep. */
  @Test
  void aReplayedSleepDoesNotSleepAgain() {
    CallToolRequest request =
        CallToolRequest.builder("drill_sleep")
            .arguments(Map.of("reason", "replay drill"))
            .meta(Map.of(McpToolsServer.IDEMPOTENCY_KEY_META, "req-drill:0:0"))
            .build();
    assertThat(success(client.callTool(request))).isEqualTo("slept");
    long started = System.nanoTime();
    assertThat(success(client.callTool(request))).isEqualTo("slept");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(SLEEP);
    assertThat(server.callLog())
        .filteredOn(c -> "req-drill:0:0".equals(c.idempotencyKey()))
        .extracting(ToolCallRecord::replayed)
        .containsExactly(false, true);
  }

  @Test
  void garbageIsTwoMillionCharactersThatAreNotJsonAndTheSessionCarriesOn() {
    String garbage = success(call(client, "drill_garbage", Map.of("reason", "garbage drill")));
    assertThat(garbage).hasSize(2_000_000).isEqualTo(DrillTools.garbageText());
    assertThat(garbage).startsWith("garbage}{[,:garbage");
    assertThatThrownBy(
            () ->
                McpJsonDefaults.getMapper()
                    .readValue(garbage, new TypeRef<Map<String, Object>>() {}))
        .isInstanceOf(Exception.class);
    assertThat(success(call(client, "compute", Map.of("expression", "6 * 7")))).isEqualTo("42");
  }

  /**
   * What llm-sim's rule sends (only the first required string filled) is refused as a tool error
   * the model could read, never a protocol error; the call is in the log all the same.
   */
  @Test
  void strictArgumentsAreCheckedAndRefusedAsToolErrors() {
    assertThat(success(call(client, "drill_strict", Map.of("query", "apples", "count", 3))))
        .isEqualTo("counted 3 of apples");
    assertThat(failure(call(client, "drill_strict", Map.of("query", "How many apples?"))))
        .contains("count");
    assertThat(failure(call(client, "drill_strict", Map.of("query", "pears", "count", "3"))))
        .contains("count");
    assertThat(failure(call(client, "drill_strict", Map.of("query", "pears", "count", 2.5))))
        .contains("count");
    assertThat(server.callLog())
        .filteredOn(c -> c.tool().equals("drill_strict"))
        .extracting(c -> c.arguments().get("query"))
        .containsExactly("apples", "How many apples?", "pears", "pears");
  }

  /** Stopping the server ends a drill's sleep at once, and the call is answered before it stops. */
  @Test
  void closingTheServerCutsASleepShort() throws Exception {
    McpToolsServer sleepy =
        McpToolsServer.builder()
            .port(0)
            .corpusDocuments(1)
            .drillTools(true)
            .drillSleep(Duration.ofMinutes(5))
            .start();
    McpSyncClient sleepyClient = newClient(sleepy);
    sleepyClient.initialize();
    CompletableFuture<CallToolResult> sleeping =
        CompletableFuture.supplyAsync(
            () -> call(sleepyClient, "drill_sleep", Map.of("reason", "shutdown drill")));
    await(() -> sleepy.callLog().isEmpty() ? null : sleepy.callLog(), Duration.ofSeconds(10));
    long started = System.nanoTime();
    sleepy.close();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    // The sleeper woke and answered before the sessions ended: at once, not after five minutes
    // (nor after the client's own request timeout).
    try {
      assertThat(failure(sleeping.get(5, TimeUnit.SECONDS))).contains("stopping");
    } finally {
      sleepyClient.close();
    }
  }

  @Test
  void theDrillSleepMustNotBeNegative() {
    assertThatThrownBy(() -> McpToolsServer.builder().drillSleep(Duration.ofSeconds(-1)).start())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("drill sleep");
  }

  /** The thread running {@code drill_sleep}'s sleep, or null while none is. */
  private static Thread sleepingThread() {
    for (Map.Entry<Thread, StackTraceElement[]> thread : Thread.getAllStackTraces().entrySet()) {
      for (StackTraceElement frame : thread.getValue()) {
        if (frame.getClassName().equals(DrillTools.class.getName())
            && frame.getMethodName().equals("sleepNow")) {
          return thread.getKey();
        }
      }
    }
    return null;
  }

  /** Polls {@code probe} until it gives a value, failing after {@code timeout}. */
  private static <T> T await(Supplier<T> probe, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("nothing after " + timeout);
  }
}
