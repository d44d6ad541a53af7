package dev.streamrag.bench;

import dev.streamrag.schemas.StageTimings;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The latency stages the report and the live metrics show, in order, and how each is read from a
 * response's timings (null where the request had no such stage).
 */
public final class LatencyStages {
  private LatencyStages() {}

  public static final Map<String, Function<StageTimings, Double>> ALL = stages();

  private static Map<String, Function<StageTimings, Double>> stages() {
    Map<String, Function<StageTimings, Double>> stages = new LinkedHashMap<>();
    stages.put("e2e", StageTimings::getTotalMs);
    stages.put("ttft_client", LatencyStages::clientTtft);
    stages.put("queue", StageTimings::getQueueMs);
    stages.put("cache", StageTimings::getCacheMs);
    stages.put("embed", StageTimings::getEmbedMs);
    stages.put("retrieve", StageTimings::getRetrieveMs);
    stages.put("prompt", StageTimings::getPromptMs);
    stages.put("ttft_llm", StageTimings::getTtftMs);
    stages.put("tpot", StageTimings::getTpotMs);
    stages.put("llm", StageTimings::getLlmMs);
    return Collections.unmodifiableMap(stages);
  }

  /**
   * Time to first token as the client sees it: everything before the LLM call plus the LLM's own
   * TTFT. Without an LLM call (a cache hit, a rejection), the whole answer is the first token.
   */
  public static Double clientTtft(StageTimings t) {
    if (t.getTotalMs() == null || t.getTtftMs() == null || t.getLlmMs() == null) {
      return t.getTotalMs();
    }
    return t.getTotalMs() - t.getLlmMs() + t.getTtftMs();
  }
}
