package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The call log and the remembered results, with a tool that counts how often it really runs. */
class ToolCallJournalTest {
  private static final Instant NOW = Instant.parse("2025-01-02T03:04:05Z");

  private final AtomicInteger runs = new AtomicInteger();

  /** An "echo" tool: answers its {@code text}, an error when the text is "fail". */
  private SyncToolSpecification echo(ToolCallJournal journal) {
    Tool tool =
        Tool.builder(
                "echo",
                ToolCatalog.objectSchema(
                    Map.of("text", ToolCatalog.stringProperty("Text to echo.", 100)),
                    List.of("text")))
            .description("Echoes its text.")
            .build();
    SyncToolSpecification spec =
        new SyncToolSpecification(
            tool,
            (exchange, request) -> {
              runs.incrementAndGet();
              Object text = request.arguments().get("text");
              return "fail".equals(text)
                  ? ToolCatalog.error("failed")
                  : ToolCatalog.success(text + " #" + runs.get());
            });
    return journal.journaled(List.of(spec)).get(0);
  }

  private static ToolCallJournal journal(int logCapacity, int resultCapacity) {
    return new ToolCallJournal(
        logCapacity,
        resultCapacity,
        McpJsonDefaults.getSchemaValidator(),
        Clock.fixed(NOW, ZoneOffset.UTC));
  }

  private static String call(SyncToolSpecification spec, String text, String key) {
    CallToolRequest.Builder request =
        CallToolRequest.builder("echo").arguments(Map.of("text", text));
    if (key != null) {
      request.meta(Map.of(McpToolsServer.IDEMPOTENCY_KEY_META, key));
    }
    CallToolResult result = spec.callHandler().apply(null, request.build());
    String answer = ((TextContent) result.content().get(0)).text();
    return Boolean.TRUE.equals(result.isError()) ? "error: " + answer : answer;
  }

  @Test
  void recordsEachCallWithItsKeyAndTime() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    assertThat(call(echo, "a", "req-1:0:0")).isEqualTo("a #1");
    assertThat(call(echo, "b", null)).isEqualTo("b #2");
    assertThat(journal.snapshot())
        .containsExactly(
            new ToolCallRecord(NOW, "echo", Map.of("text", "a"), "req-1:0:0", false),
            new ToolCallRecord(NOW, "echo", Map.of("text", "b"), null, false));
    assertThatThrownBy(() -> journal.snapshot().clear())
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aKeyAnsweredSuccessfullyIsReplayedWithoutRunningTheTool() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    assertThat(call(echo, "a", "k")).isEqualTo("a #1");
    assertThat(call(echo, "a", "k")).isEqualTo("a #1");
    assertThat(runs).hasValue(1);
    assertThat(journal.snapshot())
        .extracting(ToolCallRecord::replayed)
        .containsExactly(false, true);
  }

  @Test
  void failuresAreNotRememberedSoARetryRunsAgain() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    assertThat(call(echo, "fail", "k")).isEqualTo("error: failed");
    assertThat(call(echo, "fail", "k")).isEqualTo("error: failed");
    assertThat(runs).hasValue(2);
    assertThat(journal.snapshot()).extracting(ToolCallRecord::replayed).containsOnly(false);
  }

  @Test
  void aKeyReusedForOtherArgumentsIsAToolErrorAndRunsNothing() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    call(echo, "a", "k");
    assertThat(call(echo, "b", "k"))
        .startsWith("error: Idempotency key \"k\" was already used for a call of echo");
    assertThat(runs).hasValue(1);
    assertThat(journal.snapshot().get(1).replayed()).isFalse();
  }

  @Test
  void argumentsTheSchemaRefusesAreRecordedAndAnsweredWithAToolError() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    CallToolResult refused =
        echo.callHandler().apply(null, CallToolRequest.builder("echo").arguments(Map.of()).build());
    assertThat(refused.isError()).isTrue();
    assertThat(((TextContent) refused.content().get(0)).text()).contains("text");
    assertThat(runs).hasValue(0);
    assertThat(journal.snapshot())
        .hasSize(1)
        .first()
        .extracting(ToolCallRecord::arguments)
        .isEqualTo(Map.of());
  }

  @Test
  void keysThatAreNotNonBlankStringsAreNoKeys() {
    ToolCallJournal journal = journal(10, 10);
    SyncToolSpecification echo = echo(journal);
    Map<String, Object> numberKey = new HashMap<>();
    numberKey.put(McpToolsServer.IDEMPOTENCY_KEY_META, 7);
    echo.callHandler()
        .apply(
            null,
            CallToolRequest.builder("echo").arguments(Map.of("text", "a")).meta(numberKey).build());
    call(echo, "a", " ");
    assertThat(journal.snapshot()).extracting(ToolCallRecord::idempotencyKey).containsOnlyNulls();
    assertThat(runs).hasValue(2);
  }

  @Test
  void theLogKeepsTheNewestCalls() {
    ToolCallJournal journal = journal(3, 10);
    SyncToolSpecification echo = echo(journal);
    for (int i = 0; i < 5; i++) {
      call(echo, "t" + i, null);
    }
    assertThat(journal.snapshot())
        .extracting(call -> call.arguments().get("text"))
        .containsExactly("t2", "t3", "t4");
  }

  @Test
  void theLeastRecentlyUsedResultIsForgottenFirst() {
    ToolCallJournal journal = journal(100, 2);
    SyncToolSpecification echo = echo(journal);
    call(echo, "a", "ka"); // run 1
    call(echo, "b", "kb"); // run 2
    call(echo, "a", "ka"); // replayed: ka is now the most recently used
    call(echo, "c", "kc"); // run 3; kb is forgotten
    assertThat(call(echo, "a", "ka")).isEqualTo("a #1");
    assertThat(call(echo, "b", "kb")).as("forgotten, so run again").isEqualTo("b #4");
    assertThat(runs).hasValue(4);
  }

  @Test
  void recordsAreImmutableAndAllowNullArguments() {
    Map<String, Object> arguments = new HashMap<>();
    arguments.put("x", null);
    ToolCallRecord record = new ToolCallRecord(NOW, "t", arguments, null, false);
    arguments.put("y", 1);
    assertThat(record.arguments()).containsOnlyKeys("x");
    assertThatThrownBy(() -> record.arguments().put("z", 2))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(new ToolCallRecord(NOW, "t", null, null, false).arguments()).isEmpty();
  }
}
