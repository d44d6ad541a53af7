package dev.streamrag.mcptools;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One {@code tools/call} the server received for a tool it serves, as {@link
 * McpToolsServer#callLog()} lists it: what was asked, under which idempotency key, and whether the
 * answer was a remembered one. Recorded when the call arrives, before the tool runs, so a call
 * still running (a {@code drill_sleep}) is already in the log; calls whose arguments the tool's
 * input schema refuses are recorded too.
 *
 * @param receivedAt when the server received the call
 * @param tool the tool's name
 * @param arguments the call's arguments as the client sent them (unmodifiable; empty when none)
 * @param idempotencyKey the string under {@link McpToolsServer#IDEMPOTENCY_KEY_META} in the
 *     request's {@code _meta}, or null when there was none
 * @param replayed true when the tool did not run because the server answered with the result it
 *     remembered for this idempotency key
 */
public record ToolCallRecord(
    Instant receivedAt,
    String tool,
    Map<String, Object> arguments,
    String idempotencyKey,
    boolean replayed) {
  public ToolCallRecord {
    Objects.requireNonNull(receivedAt, "receivedAt");
    Objects.requireNonNull(tool, "tool");
    // JSON arguments may hold nulls, which Map.copyOf refuses.
    arguments =
        arguments == null || arguments.isEmpty()
            ? Map.of()
            : Collections.unmodifiableMap(new LinkedHashMap<>(arguments));
  }
}
