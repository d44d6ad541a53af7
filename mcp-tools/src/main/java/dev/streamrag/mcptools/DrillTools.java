package dev.streamrag.mcptools;

import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Tools for failure drills, served only when the server is built with {@link
 * McpToolsServer.Builder#drillTools(boolean) drillTools(true)}. Each misbehaves the way a real tool
 * server can, so that an agent loop's defences can be tested against a real MCP server: {@value
 * #SLEEP} answers late (a timeout), {@value #GARBAGE} answers with two million characters that are
 * not JSON (a size limit and a parser), and {@value #STRICT} needs an integer argument that
 * llm-sim's tool-calling rule never fills in (a schema check before the call).
 */
final class DrillTools {
  static final String SLEEP = "drill_sleep";
  static final String GARBAGE = "drill_garbage";
  static final String STRICT = "drill_strict";

  /** Length of {@value #GARBAGE}'s answer, in characters. */
  static final int GARBAGE_CHARS = 2_000_000;

  // Starts with a letter, so no JSON parser gets past the first character; brackets and braces
  // that never balance, for a lenient one. Plain ASCII: the SDK must not have to escape it.
  private static final String GARBAGE_UNIT = "garbage}{[,:";

  private static final String REASON =
      "Why the drill calls this tool; it is only logged, e.g. \"timeout drill\".";

  private final Duration sleep;
  private final CountDownLatch closing;

  private DrillTools(Duration sleep, CountDownLatch closing) {
    this.sleep = sleep;
    this.closing = closing;
  }

  /**
   * The drill tools; {@value #SLEEP} sleeps for {@code sleep}, or until {@code closing} opens (the
   * server is stopping).
   */
  static List<SyncToolSpecification> tools(Duration sleep, CountDownLatch closing) {
    DrillTools drills = new DrillTools(sleep, closing);
    return List.of(drills.sleep(), garbage(), strict());
  }

  private SyncToolSpecification sleep() {
    Tool tool =
        Tool.builder(
                SLEEP,
                ToolCatalog.objectSchema(
                    Map.of("reason", ToolCatalog.stringProperty(REASON, 200)), List.of("reason")))
            .title("Drill: sleep")
            .description("Sleeps for the drill's configured time, then answers 'slept'.")
            .annotations(ToolCatalog.READ_ONLY)
            .build();
    return new SyncToolSpecification(tool, ToolCatalog.guarded(SLEEP, arguments -> sleepNow()));
  }

  /**
   * Sleeps on the calling thread: Tomcat's request thread, one of many, so other calls are served
   * meanwhile. The latch, not {@code Thread.sleep}, so that closing the server ends the sleep.
   */
  private CallToolResult sleepNow() {
    try {
      if (closing.await(sleep.toMillis(), TimeUnit.MILLISECONDS)) {
        return ToolCatalog.error("The server is stopping; the drill's sleep was cut short.");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ToolCatalog.error("The drill's sleep was interrupted.");
    }
    return ToolCatalog.success("slept");
  }

  private static SyncToolSpecification garbage() {
    Tool tool =
        Tool.builder(
                GARBAGE,
                ToolCatalog.objectSchema(
                    Map.of("reason", ToolCatalog.stringProperty(REASON, 200)), List.of("reason")))
            .title("Drill: garbage")
            .description("Answers with garbage: a very long text that is not JSON.")
            .annotations(ToolCatalog.READ_ONLY)
            .build();
    String garbage = garbageText();
    return new SyncToolSpecification(
        tool, ToolCatalog.guarded(GARBAGE, arguments -> ToolCatalog.success(garbage)));
  }

  /** {@value #GARBAGE}'s answer: {@link #GARBAGE_UNIT} repeated, cut at {@link #GARBAGE_CHARS}. */
  static String garbageText() {
    return GARBAGE_UNIT
        .repeat(GARBAGE_CHARS / GARBAGE_UNIT.length() + 1)
        .substring(0, GARBAGE_CHARS);
  }

  private static SyncToolSpecification strict() {
    Map<String, Object> count = new LinkedHashMap<>();
    count.put("type", "integer");
    count.put("description", "How many to count, a whole number.");
    Tool tool =
        Tool.builder(
                STRICT,
                ToolCatalog.objectSchema(
                    Map.of(
                        "query",
                        ToolCatalog.stringProperty("What to count, e.g. \"apples\".", 200),
                        "count",
                        count),
                    List.of("query", "count")))
            .title("Drill: strict arguments")
            .description("Counts things strictly: needs a query and an integer count.")
            .annotations(ToolCatalog.READ_ONLY)
            .build();
    return new SyncToolSpecification(tool, ToolCatalog.guarded(STRICT, DrillTools::count));
  }

  /** Reached only with arguments the schema accepted (the journal checks it first). */
  private static CallToolResult count(Map<String, Object> arguments) {
    Object count = arguments.get("count");
    String query = ToolCatalog.text(arguments, "query");
    if (!(count instanceof Number number) || query == null) {
      return ToolCatalog.error("\"query\" (a string) and \"count\" (an integer) are required.");
    }
    // An integer-valued 3.0 passes the schema as an integer; say 3.
    String whole = new BigDecimal(number.toString()).stripTrailingZeros().toPlainString();
    return ToolCatalog.success("counted " + whole + " of " + query);
  }
}
