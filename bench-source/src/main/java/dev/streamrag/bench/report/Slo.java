package dev.streamrag.bench.report;

import dev.streamrag.schemas.ResponseStatus;

/**
 * The goodput SLO: a request is good if it ended OK and both its TTFT and its end-to-end latency,
 * as the client observed them, are within bounds.
 */
public record Slo(double ttftMillis, double e2eMillis) {

  public boolean met(ResponseStatus status, Double ttft, Double e2e) {
    return status == ResponseStatus.OK
        && ttft != null
        && e2e != null
        && ttft <= ttftMillis
        && e2e <= e2eMillis;
  }
}
