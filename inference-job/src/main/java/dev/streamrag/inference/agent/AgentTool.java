package dev.streamrag.inference.agent;

import dev.streamrag.jobs.llm.ToolDefinition;
import java.util.concurrent.CompletableFuture;

/** A tool an agent can call: built into the job, or served by an MCP server. */
public interface AgentTool {
  ToolDefinition definition();

  /**
   * Runs one call whose arguments already passed the tool's schema. The future may fail (the caller
   * turns any failure into a tool error for the model) and is cancelled on timeout.
   */
  CompletableFuture<ToolResult> call(ToolInvocation invocation);

  /** Where the tool runs, for messages: "built-in" or the MCP server's name. */
  String origin();
}
