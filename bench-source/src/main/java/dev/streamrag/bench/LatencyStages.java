package dev.streamrag.bench;

import dev.streamrag.schemas.StageTimings;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The latency stages the report and the live metrics show, in order. {@link #CLIENT} stages are
 * what a client observed, stamped where it received the answer ({@code ClientLatency}); {@link
 * #JOB} stages are the in-job breakdown, read from a response's timings (null where the request had
 * no such stage), stamped inside the job and never the headline.
 */
public final class LatencyStages {
  private LatencyStages() {}

  /**
   * Observed by the client, from the intended send time: first text, end of the streamed answer,
   * committed answer readable, time per output token as received, and the pipeline's overhead
   * before the first token (client TTFT − the LLM's own TTFT).
   */
  public static final List<String> CLIENT =
      List.of("ttft", "e2e", "committed", "tpot_client", "overhead_ttft");

  /** The in-job breakdown, by stage. */
  public static final Map<String, Function<StageTimings, Double>> JOB = jobStages();

  private static Map<String, Function<StageTimings, Double>> jobStages() {
    Map<String, Function<StageTimings, Double>> stages = new LinkedHashMap<>();
    stages.put("job_e2e", StageTimings::getTotalMs);
    stages.put("job_ttft", LatencyStages::jobTtft);
    stages.put("queue", StageTimings::getQueueMs);
    stages.put("cache", StageTimings::getCacheMs);
    stages.put("embed", StageTimings::getEmbedMs);
    stages.put("retrieve", StageTimings::getRetrieveMs);
    stages.put("prompt", StageTimings::getPromptMs);
    stages.put("ttft_llm", StageTimings::getTtftMs);
    stages.put("tpot", StageTimings::getTpotMs);
    stages.put("llm", StageTimings::getLlmMs);
    // AGENT only, and both part of its llm (the whole loop): tool waits and the loop's own time.
    stages.put("tool", StageTimings::getToolMs);
    stages.put("agent_overhead", StageTimings::getAgentOverheadMs);
    return Collections.unmodifiableMap(stages);
  }

  /**
   * Time to first token as the job reckons it: everything before the LLM call plus the LLM's own
   * TTFT. Without an LLM call (a cache hit, a rejection), the whole answer is the first token. A
   * breakdown figure: it leaves out the trip to the client.
   */
  public static Double jobTtft(StageTimings t) {
    if (t.getTotalMs() == null || t.getTtftMs() == null || t.getLlmMs() == null) {
      return t.getTotalMs();
    }
    return t.getTotalMs() - t.getLlmMs() + t.getTtftMs();
  }
}
