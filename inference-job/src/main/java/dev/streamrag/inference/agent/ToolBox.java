package dev.streamrag.inference.agent;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.inference.output.ClientErrors;
import dev.streamrag.jobs.llm.ToolDefinition;
import dev.streamrag.schemas.ToolCall;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.schema.JsonSchemaValidator;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every tool an agent may be offered (the built-in ones, then those of the MCP servers), who may
 * call which ({@link ToolAccess}), and each call's checks: the tool must be one the request was
 * offered, its arguments must be a JSON object that passes the tool's schema, it must answer within
 * its timeout, and its answer is cut to a size the model's context can take. Every failure is a
 * {@link ToolResult} with a code, for the model to read; nothing here fails a request.
 */
final class ToolBox implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(ToolBox.class);
  private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {};

  private final Map<String, AgentTool> builtIn;
  private final List<McpServerTools> servers;
  private final ToolAccess access;
  private final int maxResultChars;
  private final JsonSchemaValidator validator = McpJsonDefaults.getSchemaValidator();
  private final Map<String, Map<String, Object>> schemas = new ConcurrentHashMap<>();
  private final Set<String> shadowed = ConcurrentHashMap.newKeySet();

  ToolBox(
      List<AgentTool> builtIn,
      List<McpServerTools> servers,
      ToolAccess access,
      int maxResultChars) {
    Map<String, AgentTool> byName = new LinkedHashMap<>();
    for (AgentTool tool : builtIn) {
      byName.put(tool.definition().name(), tool);
    }
    this.builtIn = Map.copyOf(byName);
    this.servers = List.copyOf(servers);
    this.access = access;
    this.maxResultChars = maxResultChars;
  }

  /** The tools offered to one request, or why it cannot be served. */
  record Offer(
      Map<String, AgentTool> tools, List<String> unavailable, String rejectCode, String reason) {
    boolean rejected() {
      return rejectCode != null;
    }

    List<ToolDefinition> definitions() {
      return tools.values().stream().map(AgentTool::definition).toList();
    }
  }

  /** Lists the tools of servers not reached yet; the future never fails. */
  CompletableFuture<Void> refresh() {
    return CompletableFuture.allOf(
        servers.stream().map(McpServerTools::refresh).toArray(CompletableFuture[]::new));
  }

  /**
   * The tools {@code tenant} may use, or those of them {@code requested} names: a requested tool
   * nobody offers or the tenant may not use rejects the request; tools of a server that is down are
   * left out (and named in {@code unavailable}), unless requested by name.
   */
  Offer offer(String tenant, List<String> requested) {
    Map<String, AgentTool> all = new LinkedHashMap<>(builtIn);
    List<String> unavailable = new ArrayList<>();
    for (McpServerTools server : servers) {
      if (server.unreachable() != null) {
        unavailable.add(server.name() + " (" + server.unreachable() + ")");
      }
      // The first to offer a name keeps it (built-in tools, then servers in their order).
      server
          .tools()
          .forEach(
              (name, tool) -> {
                if (all.putIfAbsent(name, tool) != null) {
                  noteShadowed(name, server.name());
                }
              });
    }
    Map<String, AgentTool> offered = new LinkedHashMap<>();
    if (requested.isEmpty()) {
      all.forEach(
          (name, tool) -> {
            if (access.allowed(tenant, name)) {
              offered.put(name, tool);
            }
          });
      return new Offer(offered, unavailable, null, null);
    }
    for (String name : requested) {
      AgentTool tool = all.get(name);
      if (tool == null) {
        return unavailable.isEmpty()
            ? new Offer(
                Map.of(),
                unavailable,
                "validation.unknown_tool",
                "no tool named '" + name + "'; tools here: " + all.keySet())
            : new Offer(
                Map.of(),
                unavailable,
                "agent.tools_unavailable",
                "no tool named '"
                    + name
                    + "' is known, and MCP servers are unreachable: "
                    + unavailable);
      }
      if (!access.allowed(tenant, name)) {
        return new Offer(
            Map.of(),
            unavailable,
            "validation.tool_not_allowed",
            "tenant " + tenant + " may not use the tool '" + name + "'");
      }
      offered.put(name, tool);
    }
    return new Offer(offered, unavailable, null, null);
  }

  /** Makes one call of the model's, with every check; the future never fails. */
  CompletableFuture<ToolResult> call(
      Offer offer, ToolCall call, String tenant, String idempotencyKey, Duration timeout) {
    AgentTool tool = offer.tools().get(call.getName());
    if (tool == null) {
      return CompletableFuture.completedFuture(
          ToolResult.failed(
              ToolResult.UNKNOWN,
              "no tool named '"
                  + call.getName()
                  + "' was offered; offered: "
                  + offer.tools().keySet()));
    }
    Map<String, Object> arguments;
    try {
      arguments =
          call.getArguments().isBlank() ? Map.of() : JSON.readValue(call.getArguments(), OBJECT);
    } catch (IOException e) {
      return CompletableFuture.completedFuture(
          ToolResult.failed(
              ToolResult.INVALID_ARGUMENTS,
              "the arguments of " + call.getName() + " are not a JSON object"));
    }
    JsonSchemaValidator.ValidationResponse check;
    try {
      check = validator.validate(schemaOf(tool), arguments);
    } catch (RuntimeException e) {
      check = JsonSchemaValidator.ValidationResponse.asInvalid(String.valueOf(e.getMessage()));
    }
    if (!check.valid()) {
      return CompletableFuture.completedFuture(
          ToolResult.failed(
              ToolResult.INVALID_ARGUMENTS,
              "the arguments of "
                  + call.getName()
                  + " do not fit its schema: "
                  + check.errorMessage()));
    }
    CompletableFuture<ToolResult> running =
        start(tool, new ToolInvocation(tenant, arguments, idempotencyKey, timeout));
    // A copy is bounded, so that on timeout the tool's own future can still be cancelled (which
    // stops an MCP request); orTimeout on it would complete it first, and cancel nothing.
    CompletableFuture<ToolResult> bounded =
        running.copy().orTimeout(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
    return bounded.handle(
        (result, error) -> {
          if (error != null) {
            running.cancel(true);
            Throwable cause = McpServerTools.unwrap(error);
            return cause instanceof TimeoutException
                ? ToolResult.failed(
                    ToolResult.TIMEOUT,
                    call.getName() + " (" + tool.origin() + ") did not answer within " + timeout)
                : ToolResult.failed(
                    ToolResult.UNAVAILABLE,
                    // The model may repeat this to the tenant: no internal endpoints in it.
                    ClientErrors.message(
                        ToolResult.UNAVAILABLE,
                        call.getName()
                            + " ("
                            + tool.origin()
                            + ") failed: "
                            + McpServerTools.describe(cause)));
          }
          return bounded(result);
        });
  }

  private static CompletableFuture<ToolResult> start(AgentTool tool, ToolInvocation invocation) {
    try {
      return tool.call(invocation);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private ToolResult bounded(ToolResult result) {
    String text = result.text() == null ? "" : result.text();
    if (text.length() <= maxResultChars) {
      return result.text() == null ? new ToolResult("", result.errorCode()) : result;
    }
    String cut =
        text.substring(0, maxResultChars)
            + "\n[cut: the tool answered "
            + text.length()
            + " characters, more than the "
            + maxResultChars
            + " the job passes on]";
    return ToolResult.failed(result.ok() ? ToolResult.TOO_LARGE : result.errorCode(), cut);
  }

  private void noteShadowed(String tool, String server) {
    if (shadowed.add(server + "/" + tool)) {
      LOG.warn(
          "MCP server {} offers a tool named {}, which a built-in tool or an earlier server"
              + " already offers: agents call the earlier one",
          server,
          tool);
    }
  }

  private Map<String, Object> schemaOf(AgentTool tool) {
    return schemas.computeIfAbsent(
        tool.origin() + "/" + tool.definition().name(),
        key -> {
          try {
            return JSON.readValue(tool.definition().parametersJson(), OBJECT);
          } catch (IOException e) {
            throw new IllegalStateException("tool " + key + " has a schema that is not JSON", e);
          }
        });
  }

  @Override
  public void close() {
    for (McpServerTools server : servers) {
      server.close();
    }
    for (AgentTool tool : builtIn.values()) {
      if (tool instanceof AutoCloseable closeable) {
        try {
          closeable.close();
        } catch (Exception e) {
          // closing is best effort
        }
      }
    }
  }
}
