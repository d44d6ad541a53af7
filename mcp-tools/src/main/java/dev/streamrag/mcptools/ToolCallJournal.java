package dev.streamrag.mcptools;

import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import io.modelcontextprotocol.util.ToolInputValidator;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands between the SDK and each tool: records every call ({@link ToolCallRecord}), answers a call
 * whose idempotency key was already answered successfully with the remembered result instead of
 * running the tool again, and checks arguments against the tool's input schema.
 *
 * <p>It checks the schema itself, with the SDK's own validator, rather than leaving it to the SDK
 * (the server is built with {@code validateToolInputs(false)}): the SDK refuses bad arguments
 * before any handler sees the call, so a refused call would be missing from the log, and the log is
 * how a drill shows that a call never reached this server.
 *
 * <p>Both stores are bounded: the log keeps the newest {@code logCapacity} calls, the remembered
 * results the {@code resultCapacity} keys used most recently. They are bounded by count, not bytes:
 * the demo tools' results are small, and {@code drill_garbage} answers with one shared string. Only
 * successful results are remembered: a failed call may succeed when retried. A key whose first call
 * is still running is not yet answered, so a concurrent duplicate runs the tool too.
 */
final class ToolCallJournal {
  private static final Logger LOG = LoggerFactory.getLogger(ToolCallJournal.class);

  /** What a key was answered with, and for which call, so a reused key cannot get another's. */
  private record Answered(String tool, Map<String, Object> arguments, CallToolResult result) {}

  private final int logCapacity;
  private final JsonSchemaValidator validator;
  private final Clock clock;
  private final ArrayDeque<ToolCallRecord> log = new ArrayDeque<>();
  private final Map<String, Answered> answered;

  ToolCallJournal(int logCapacity, int resultCapacity, JsonSchemaValidator validator, Clock clock) {
    if (logCapacity < 1 || resultCapacity < 1) {
      throw new IllegalArgumentException("capacities must be at least 1");
    }
    this.logCapacity = logCapacity;
    this.validator = Objects.requireNonNull(validator, "validator");
    this.clock = Objects.requireNonNull(clock, "clock");
    // Access order: a replayed key counts as used, so the least recently used goes first.
    this.answered =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Answered> eldest) {
            return size() > resultCapacity;
          }
        };
  }

  /** {@code tools} with their handlers behind this journal. */
  List<SyncToolSpecification> journaled(List<SyncToolSpecification> tools) {
    return tools.stream()
        .map(spec -> new SyncToolSpecification(spec.tool(), journaled(spec)))
        .toList();
  }

  /** The calls recorded so far, oldest first; a copy. */
  List<ToolCallRecord> snapshot() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  private BiFunction<McpSyncServerExchange, CallToolRequest, CallToolResult> journaled(
      SyncToolSpecification spec) {
    Tool tool = spec.tool();
    return (exchange, request) -> {
      Map<String, Object> arguments = request.arguments() != null ? request.arguments() : Map.of();
      String key = idempotencyKey(request);
      Answered earlier = key == null ? null : rememberedAnswer(key);
      boolean replay =
          earlier != null
              && earlier.tool().equals(tool.name())
              && earlier.arguments().equals(arguments);
      ToolCallRecord call =
          new ToolCallRecord(clock.instant(), tool.name(), arguments, key, replay);
      append(call);
      LOG.debug(
          "tools/call {} {} key={} replayed={} on {}",
          call.tool(),
          call.arguments(),
          key,
          replay,
          Thread.currentThread().getName());
      if (replay) {
        return earlier.result();
      }
      if (earlier != null) {
        return CallToolResult.builder()
            .addTextContent(
                "Idempotency key \""
                    + key
                    + "\" was already used for a call of "
                    + earlier.tool()
                    + " with other arguments; a key names one call. Use a new key for a new call.")
            .isError(true)
            .build();
      }
      CallToolResult refused = ToolInputValidator.validate(tool, arguments, true, validator);
      if (refused != null) {
        return refused;
      }
      CallToolResult result = spec.callHandler().apply(exchange, request);
      if (key != null && result != null && !Boolean.TRUE.equals(result.isError())) {
        synchronized (answered) {
          answered.put(key, new Answered(tool.name(), call.arguments(), result));
        }
      }
      return result;
    };
  }

  private Answered rememberedAnswer(String key) {
    synchronized (answered) {
      return answered.get(key);
    }
  }

  private void append(ToolCallRecord call) {
    synchronized (log) {
      if (log.size() == logCapacity) {
        log.removeFirst();
      }
      log.addLast(call);
    }
  }

  /** The key a client put in the request's {@code _meta}; anything but a non-blank string: none. */
  private static String idempotencyKey(CallToolRequest request) {
    Map<String, Object> meta = request.meta();
    Object key = meta == null ? null : meta.get(McpToolsServer.IDEMPOTENCY_KEY_META);
    return key instanceof String text && !text.isBlank() ? text : null;
  }
}
