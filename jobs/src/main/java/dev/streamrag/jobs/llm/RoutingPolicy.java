package dev.streamrag.jobs.llm;

/**
 * How {@link EndpointRouter} picks an LLM endpoint.
 *
 * <ul>
 *   <li>ROUND_ROBIN: in turn.
 *   <li>LEAST_OUTSTANDING: the one with the fewest requests this task has in flight there (ties in
 *       turn), which steers load away from a slow or overloaded server.
 *   <li>PREFIX_AFFINITY: the one most likely to hold the prompt's leading blocks in its prefix (KV)
 *       cache, judged from where this router sent the same blocks before ({@link PrefixIndex}), so
 *       prompts that share a system prompt, the same retrieved passages or a conversation's earlier
 *       turns skip most of their prefill. Bounded load (consistent hashing with bounded loads,
 *       Mirrokni et al.): an endpoint takes a request only while its in-flight count stays within
 *       {@code loadFactor} times the average, so a hot prefix spills to the next best endpoint
 *       instead of swamping one. A prompt no endpoint has seen, or of which the best endpoint holds
 *       less than half (only the shared system prompt, say), goes to the least loaded.
 *   <li>LOAD_AWARE: the one whose server reports the least load on its own {@code /metrics}
 *       (requests waiting, KV-cache usage; {@link ServerLoad}, polled every interval) plus this
 *       router's requests in flight there; the servers' view includes load from other tasks and
 *       clients, which in-flight counts cannot see. Without a fresh reading, LEAST_OUTSTANDING.
 * </ul>
 */
public enum RoutingPolicy {
  ROUND_ROBIN,
  LEAST_OUTSTANDING,
  PREFIX_AFFINITY,
  LOAD_AWARE
}
