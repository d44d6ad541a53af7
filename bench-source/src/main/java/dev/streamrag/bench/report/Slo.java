package dev.streamrag.bench.report;

import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;

/** The goodput SLO: a request is good if it is OK and both latencies are within bounds. */
public record Slo(double ttftMillis, double e2eMillis) {

  public boolean met(InferenceResponse response) {
    return response.getStatus() == ResponseStatus.OK
        && response.getTimings() != null
        && e2e(response.getTimings()) <= e2eMillis
        && clientTtft(response.getTimings()) <= ttftMillis;
  }

  public static double e2e(StageTimings timings) {
    return value(timings.getTotalMs());
  }

  /**
   * Time to first token as the client sees it: everything before the LLM call plus the LLM's own
   * TTFT. Without an LLM call (a cache hit, a rejection), the whole answer is the first token.
   */
  public static double clientTtft(StageTimings timings) {
    if (timings.getTtftMs() == null || timings.getLlmMs() == null) {
      return e2e(timings);
    }
    return e2e(timings) - timings.getLlmMs() + timings.getTtftMs();
  }

  static double value(Double millis) {
    return millis == null ? 0.0 : millis;
  }
}
