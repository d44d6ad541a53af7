package dev.streamrag.bench.load;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiter;

/**
 * Lets the next request out when the schedule says it is due. The wait is a timer, not a sleep, so
 * the source's task thread stays free for checkpoints. A request already overdue (the job fell
 * behind) is let out at once and keeps its intended time: no coordinated omission.
 */
final class ScheduledRateLimiter implements RateLimiter {
  private final ArrivalClock clock;

  ScheduledRateLimiter(ArrivalClock clock) {
    this.clock = clock;
  }

  @Override
  public CompletionStage<Void> acquire() {
    long wait = clock.nextDueNanos() - System.nanoTime();
    if (wait <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    return CompletableFuture.runAsync(
        () -> {}, CompletableFuture.delayedExecutor(wait, TimeUnit.NANOSECONDS));
  }
}
