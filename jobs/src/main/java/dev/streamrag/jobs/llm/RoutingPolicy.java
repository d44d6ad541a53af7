package dev.streamrag.jobs.llm;

/**
 * How {@link EndpointRouter} picks an LLM endpoint. ROUND_ROBIN: in turn. LEAST_OUTSTANDING: the
 * one with the fewest requests this task has in flight there (ties in turn), which steers load away
 * from a slow or overloaded server. Prefix affinity (same prompt prefix → same server, for its
 * prefix cache) would be a third policy here.
 */
public enum RoutingPolicy {
  ROUND_ROBIN,
  LEAST_OUTSTANDING
}
