package dev.streamrag.bench.report;

import dev.streamrag.bench.LatencyStages;
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

  /** See {@link LatencyStages#clientTtft}. */
  public static double clientTtft(StageTimings timings) {
    return value(LatencyStages.clientTtft(timings));
  }

  static double value(Double millis) {
    return millis == null ? 0.0 : millis;
  }
}
