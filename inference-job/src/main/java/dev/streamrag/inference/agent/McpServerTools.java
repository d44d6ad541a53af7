package dev.streamrag.inference.agent;

import dev.streamrag.jobs.llm.ToolDefinition;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;
import reactor.util.retry.Retry;

/**
 * The tools of one MCP server (Streamable HTTP), through the official SDK's asynchronous client.
 * Its tools are listed when the server is first reached and kept; while it cannot be reached, a new
 * connection is tried at most every {@link #RETRY_INTERVAL}, so a server that is down costs
 * requests nothing but the tools it would have offered.
 *
 * <p>Each call carries its idempotency key in the request's {@code _meta}, under {@link
 * #IDEMPOTENCY_KEY_META}: a server that remembers keys answers a call made again after a failover
 * from memory instead of acting twice.
 */
final class McpServerTools implements AutoCloseable {
  /** Where a tools/call request carries the job's idempotency key ({@code requestId:step:call}). */
  static final String IDEMPOTENCY_KEY_META = "dev.streamrag/idempotency-key";

  static final Duration RETRY_INTERVAL = Duration.ofSeconds(5);
  static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  // A tool's answer larger than this is refused by the transport: the job keeps a few KiB anyway.
  private static final int MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(McpServerTools.class);

  private final String name;
  private final URI url;
  private final Duration timeout;
  private final Object lock = new Object();
  private volatile Map<String, AgentTool> tools = Map.of();
  private volatile boolean listed; // reached and listed, even if it offers no tool
  private volatile String unreachable = "not contacted yet";
  private McpAsyncClient client; // guarded by lock
  private CompletableFuture<Void> listing; // guarded by lock
  private long nextAttemptNanos; // guarded by lock
  private boolean firstAttempt; // guarded by lock: the listing in progress is the first one
  private boolean closed; // guarded by lock

  McpServerTools(String name, URI url, Duration timeout) {
    this.name = name;
    this.url = url;
    this.timeout = timeout;
  }

  /**
   * Reads {@code name=url}.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static McpServerTools parse(String spec, Duration timeout) {
    int equals = spec.indexOf('=');
    if (equals <= 0) {
      throw new IllegalArgumentException(
          "agent.mcp-servers: '"
              + spec
              + "' is not name=url (e.g. demo=http://127.0.0.1:8090/mcp)");
    }
    String name = spec.substring(0, equals).strip();
    URI url;
    try {
      url = URI.create(spec.substring(equals + 1).strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "agent.mcp-servers: the url of '" + name + "' is not a URI: " + e.getMessage(), e);
    }
    if (!("http".equals(url.getScheme()) || "https".equals(url.getScheme()))
        || url.getHost() == null) {
      throw new IllegalArgumentException(
          "agent.mcp-servers: the url of '" + name + "' must be http(s)://host[:port]/path");
    }
    if (url.getUserInfo() != null) {
      throw new IllegalArgumentException(
          "agent.mcp-servers: the url of '" + name + "' must not carry credentials");
    }
    return new McpServerTools(name, url, timeout);
  }

  String name() {
    return name;
  }

  URI url() {
    return url;
  }

  /** The tools listed when the server was last reached; empty before. */
  Map<String, AgentTool> tools() {
    return tools;
  }

  /** Why the server's tools are not known, or null once they are. */
  String unreachable() {
    return listed ? null : unreachable;
  }

  /**
   * Lists the server's tools unless they are known, connecting first; at most one attempt every
   * {@link #RETRY_INTERVAL}. Only the first attempt is waited for: once the server has been found
   * down, later attempts run in the background, so a server that stays down costs requests no time.
   * Never fails.
   */
  CompletableFuture<Void> refresh() {
    synchronized (lock) {
      if (closed || listed) {
        return CompletableFuture.completedFuture(null);
      }
      boolean failedBefore = listing != null && listing.isDone();
      if (listing != null && !listing.isDone()) {
        return firstAttempt ? listing : CompletableFuture.completedFuture(null);
      }
      long now = System.nanoTime();
      if (now - nextAttemptNanos < 0) {
        return CompletableFuture.completedFuture(null);
      }
      firstAttempt = !failedBefore;
      nextAttemptNanos = now + RETRY_INTERVAL.toNanos();
      if (client != null) {
        client.close();
      }
      String base = url.getScheme() + "://" + url.getRawAuthority();
      String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
      McpAsyncClient fresh =
          McpClient.async(
                  HttpClientStreamableHttpTransport.builder(base)
                      .endpoint(path)
                      .connectTimeout(timeout)
                      .maxResponseSize(MAX_RESPONSE_BYTES)
                      .build())
              .requestTimeout(timeout)
              .initializationTimeout(timeout)
              .clientInfo(new McpSchema.Implementation("streamrag-inference", "1"))
              .build();
      client = fresh;
      listing =
          fresh
              .initialize()
              .then(fresh.listTools())
              .toFuture()
              .orTimeout(timeout.toMillis() * 2, TimeUnit.MILLISECONDS)
              .handle(
                  (result, error) -> {
                    if (error != null) {
                      unreachable = describe(error);
                      LOG.warn("MCP server {} ({}) is unreachable: {}", name, url, unreachable);
                    } else {
                      tools = toolsOf(fresh, result.tools());
                      listed = true;
                      LOG.info("MCP server {} ({}) offers {}", name, url, tools.keySet());
                    }
                    return null;
                  });
      return firstAttempt ? listing : CompletableFuture.completedFuture(null);
    }
  }

  private Map<String, AgentTool> toolsOf(McpAsyncClient on, List<McpSchema.Tool> listed) {
    Map<String, AgentTool> byName = new LinkedHashMap<>();
    for (McpSchema.Tool tool : listed) {
      // OpenAI-compatible servers refuse a request whose tools have other names, whole.
      if (tool.name() == null || !TOOL_NAME.matcher(tool.name()).matches()) {
        LOG.warn(
            "MCP server {}: tool '{}' is skipped: names must match {}",
            name,
            tool.name(),
            TOOL_NAME);
        continue;
      }
      String schema;
      try {
        schema = McpJsonDefaults.getMapper().writeValueAsString(tool.inputSchema());
      } catch (IOException e) {
        LOG.warn("MCP server {}: tool {} has an unreadable schema, skipped", name, tool.name());
        continue;
      }
      ToolDefinition definition = new ToolDefinition(tool.name(), tool.description(), schema);
      byName.put(tool.name(), new McpTool(on, definition));
    }
    return Map.copyOf(byName);
  }

  /** One of the server's tools. */
  private final class McpTool implements AgentTool {
    private final McpAsyncClient on;
    private final ToolDefinition definition;

    McpTool(McpAsyncClient on, ToolDefinition definition) {
      this.on = on;
      this.definition = definition;
    }

    @Override
    public ToolDefinition definition() {
      return definition;
    }

    @Override
    public String origin() {
      return name;
    }

    @Override
    public CompletableFuture<ToolResult> call(ToolInvocation invocation) {
      McpSchema.CallToolRequest request =
          McpSchema.CallToolRequest.builder()
              .name(definition.name())
              .arguments(invocation.arguments())
              .meta(Map.of(IDEMPOTENCY_KEY_META, invocation.idempotencyKey()))
              .build();
      // A transport failure (a session the server dropped, a connection reset) is tried once
      // more: the client opens a new session first, and the idempotency key makes the second
      // call safe. A server's error answer and a timeout are final.
      return on.callTool(request)
          // Cancelled or timed out, the subscription is disposed: the HTTP request stops too.
          .timeout(invocation.timeout())
          .retryWhen(
              Retry.max(1)
                  .filter(
                      error -> !(error instanceof McpError || error instanceof TimeoutException)))
          .toFuture()
          .handle(
              (result, error) -> {
                if (error == null) {
                  return resultOf(result);
                }
                Throwable cause = unwrap(error);
                if (Exceptions.isRetryExhausted(cause) && cause.getCause() != null) {
                  cause = cause.getCause();
                }
                if (cause instanceof McpError protocol) { // the server answered, with an error
                  return ToolResult.failed(
                      ToolResult.ERROR, "MCP server " + name + ": " + protocol.getMessage());
                }
                if (cause instanceof TimeoutException) {
                  return ToolResult.failed(
                      ToolResult.TIMEOUT,
                      "MCP server " + name + " did not answer within " + invocation.timeout());
                }
                return ToolResult.failed(
                    ToolResult.UNAVAILABLE,
                    "MCP server " + name + " could not be reached: " + describe(cause));
              });
    }
  }

  private ToolResult resultOf(McpSchema.CallToolResult result) {
    StringBuilder text = new StringBuilder();
    for (McpSchema.Content content : result.content()) {
      if (text.length() > 0) {
        text.append('\n');
      }
      if (content instanceof McpSchema.TextContent textContent) {
        text.append(textContent.text());
      } else {
        // Images, audio and resources mean nothing to a text model; say what came instead.
        text.append("[").append(content.type()).append(" content]");
      }
    }
    if (text.length() == 0 && result.structuredContent() != null) {
      try {
        text.append(McpJsonDefaults.getMapper().writeValueAsString(result.structuredContent()));
      } catch (IOException e) {
        text.append("[unreadable structured content]");
      }
    }
    return Boolean.TRUE.equals(result.isError())
        ? ToolResult.failed(ToolResult.ERROR, text.toString())
        : ToolResult.ok(text.toString());
  }

  static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  static String describe(Throwable error) {
    Throwable cause = unwrap(error);
    while (cause.getCause() != null && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (client != null) {
        client.close();
        client = null;
      }
    }
  }
}
