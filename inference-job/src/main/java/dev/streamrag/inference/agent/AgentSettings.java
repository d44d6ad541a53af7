package dev.streamrag.inference.agent;

import dev.streamrag.jobs.cache.RedisEndpoint;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * How agent requests run (the {@code agent.*} options), checked when the job is built: in a task a
 * bad value would restart it in a loop.
 *
 * @param mcpServers {@code name=url} of each MCP server
 * @param redis where steps are journaled; null journals nothing
 * @param opensearch where {@code search_documents} searches; null offers no such tool
 */
public record AgentSettings(
    List<String> mcpServers,
    String tenantTools,
    int maxSteps,
    int maxToolCalls,
    int maxCompletionTokens,
    Duration toolTimeout,
    int maxToolResultChars,
    RedisEndpoint redis,
    Duration journalTtl,
    Duration journalTimeout,
    String systemPrompt,
    int defaultMaxTokens,
    double charsPerToken,
    String embeddingModel,
    OpenSearchEndpoint opensearch,
    String index,
    Duration searchTimeout)
    implements Serializable {
  public AgentSettings {
    mcpServers = List.copyOf(mcpServers);
    positive("agent.max-steps", maxSteps);
    positive("agent.max-tool-calls", maxToolCalls);
    positive("agent.max-completion-tokens", maxCompletionTokens);
    positive("agent.max-tool-result-chars", maxToolResultChars);
    if (toolTimeout.isNegative() || toolTimeout.isZero()) {
      throw new IllegalArgumentException("agent.tool-timeout must be positive");
    }
    ToolAccess.parse(tenantTools); // refuses what it cannot read, naming it
    List<String> names =
        mcpServers.stream().map(s -> McpServerTools.parse(s, toolTimeout).name()).toList();
    if (names.stream().distinct().count() != names.size()) {
      throw new IllegalArgumentException("agent.mcp-servers: two servers share a name: " + names);
    }
  }

  private static void positive(String key, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(key + " must be at least 1, was " + value);
    }
  }
}
