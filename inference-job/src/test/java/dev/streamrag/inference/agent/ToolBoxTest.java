package dev.streamrag.inference.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.ToolDefinition;
import dev.streamrag.schemas.ToolCall;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call's checks around a tool of the job's own (an {@link AgentTool} written here, as a built-in
 * tool is): which tools a request is offered, arguments against the schema, the timeout, the size
 * cut. The same checks against a real MCP server are AgentJobIT's.
 */
@Timeout(30)
class ToolBoxTest {
  private static final String SCHEMA =
      "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
          + "\"required\":[\"n\"],\"additionalProperties\":false}";

  /** Answers n copies of "x"; n < 0 never answers. */
  private static final AgentTool REPEAT =
      new AgentTool() {
        @Override
        public ToolDefinition definition() {
          return new ToolDefinition("repeat", "Repeats x n times", SCHEMA);
        }

        @Override
        public CompletableFuture<ToolResult> call(ToolInvocation invocation) {
          int n = ((Number) invocation.arguments().get("n")).intValue();
          return n < 0
              ? new CompletableFuture<>()
              : CompletableFuture.completedFuture(ToolResult.ok("x".repeat(n)));
        }

        @Override
        public String origin() {
          return "built-in";
        }
      };

  private final ToolBox box =
      new ToolBox(List.of(REPEAT), List.of(), ToolAccess.parse("*=repeat;guest="), 100);

  private ToolResult call(String arguments) throws Exception {
    ToolBox.Offer offer = box.offer("acme", List.of());
    return box.call(
            offer, new ToolCall("c1", "repeat", arguments), "acme", "r:0:0", Duration.ofMillis(300))
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void offersFollowTheRequestAndTheAllowList() {
    assertThat(box.offer("acme", List.of()).tools()).containsOnlyKeys("repeat");
    assertThat(box.offer("guest", List.of()).tools()).isEmpty();
    ToolBox.Offer unknown = box.offer("acme", List.of("teleport"));
    assertThat(unknown.rejectCode()).isEqualTo("validation.unknown_tool");
    assertThat(unknown.reason()).contains("teleport").contains("repeat");
    assertThat(box.offer("guest", List.of("repeat")).rejectCode())
        .isEqualTo("validation.tool_not_allowed");
  }

  @Test
  void everyFailureIsAResultWithItsCode() throws Exception {
    assertThat(call("{\"n\":3}")).isEqualTo(ToolResult.ok("xxx"));
    assertThat(call("{\"n\":\"three\"}").errorCode()).isEqualTo(ToolResult.INVALID_ARGUMENTS);
    assertThat(call("{\"n\":1,\"m\":2}").errorCode()).isEqualTo(ToolResult.INVALID_ARGUMENTS);
    assertThat(call("[1]").errorCode()).isEqualTo(ToolResult.INVALID_ARGUMENTS);
    assertThat(call("{not json").errorCode()).isEqualTo(ToolResult.INVALID_ARGUMENTS);
    assertThat(call("{\"n\":-1}").errorCode()).isEqualTo(ToolResult.TIMEOUT);
    ToolResult large = call("{\"n\":5000}");
    assertThat(large.errorCode()).isEqualTo(ToolResult.TOO_LARGE);
    assertThat(large.text()).startsWith("x".repeat(100)).contains("5000 characters");
    ToolBox.Offer offer = box.offer("acme", List.of());
    assertThat(
            box.call(
                    offer,
                    new ToolCall("c2", "other", "{}"),
                    "acme",
                    "r:0:1",
                    Duration.ofSeconds(1))
                .get()
                .errorCode())
        .isEqualTo(ToolResult.UNKNOWN);
  }
}
