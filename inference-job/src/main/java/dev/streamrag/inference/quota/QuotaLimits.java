package dev.streamrag.inference.quota;

import java.io.Serializable;

/**
 * One tenant's limits over the whole job: requests admitted per second (a token bucket holding up
 * to {@code burst} requests), and requests in flight at once. 0 means unlimited for each.
 *
 * @param requestsPerSecond admitted on average, 0 for no rate limit
 * @param burst most requests admitted at once after a quiet spell; 0: one second's worth of the
 *     rate (at least 1)
 * @param maxConcurrent most requests in the job at once, from admission until their response is
 *     produced; 0 for no limit
 */
public record QuotaLimits(double requestsPerSecond, int burst, int maxConcurrent)
    implements Serializable {
  public static final QuotaLimits UNLIMITED = new QuotaLimits(0, 0, 0);

  public QuotaLimits {
    if (!(requestsPerSecond >= 0) || Double.isInfinite(requestsPerSecond)) {
      throw new IllegalArgumentException(
          "requests per second must be a finite number >= 0, was " + requestsPerSecond);
    }
    if (burst < 0) {
      throw new IllegalArgumentException("burst must be >= 0, was " + burst);
    }
    if (maxConcurrent < 0) {
      throw new IllegalArgumentException("max concurrent must be >= 0, was " + maxConcurrent);
    }
  }

  public boolean limitsRate() {
    return requestsPerSecond > 0;
  }

  public boolean limitsConcurrency() {
    return maxConcurrent > 0;
  }

  public boolean unlimited() {
    return !limitsRate() && !limitsConcurrency();
  }

  /** The bucket's size: the burst, or one second's worth of the rate; at least one request. */
  public double effectiveBurst() {
    return burst > 0 ? burst : Math.max(1, Math.ceil(requestsPerSecond));
  }

  /**
   * What one of {@code tasks} parallel tasks enforces, each seeing about 1/tasks of a tenant's
   * requests (requests are keyed by requestId, so a tenant's spread over the partitions): the rate
   * and the bucket divided (a bucket never below one request, or the task could admit none), and
   * the concurrency divided rounding up (never below one). Over all tasks that admits at most the
   * rate, and at most {@code tasks × ceil(maxConcurrent / tasks)} in flight: exactly the limit when
   * it is a multiple of the parallelism.
   */
  public TaskShare share(int tasks) {
    if (tasks < 1) {
      throw new IllegalArgumentException("tasks must be at least 1, was " + tasks);
    }
    return new TaskShare(
        requestsPerSecond / tasks,
        Math.max(1.0, effectiveBurst() / tasks),
        limitsConcurrency() ? (maxConcurrent + tasks - 1) / tasks : 0);
  }

  /** The limits as a client reads them in a rejection: the job's, not one task's share. */
  public String describeRate() {
    return format(requestsPerSecond)
        + " request"
        + (requestsPerSecond == 1 ? "" : "s")
        + "/s (burst "
        + format(effectiveBurst())
        + ")";
  }

  /** As the spec writes them: {@code rate:burst:concurrent}. */
  @Override
  public String toString() {
    return format(requestsPerSecond) + ":" + burst + ":" + maxConcurrent;
  }

  static String format(double value) {
    return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
  }

  /**
   * One task's part of a tenant's limits.
   *
   * @param ratePerSecond tokens added per second, 0 for no rate limit
   * @param bucketSize most tokens held
   * @param maxConcurrent most requests this task holds in flight, 0 for no limit
   */
  public record TaskShare(double ratePerSecond, double bucketSize, int maxConcurrent) {}
}
