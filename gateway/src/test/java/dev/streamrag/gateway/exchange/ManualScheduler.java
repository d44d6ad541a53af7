package dev.streamrag.gateway.exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;

/** An {@link Exchange.Scheduler} whose tasks run when a test says, chosen by their delay. */
final class ManualScheduler implements Exchange.Scheduler {
  private static final class Task {
    final long delayMillis;
    final Runnable run;
    boolean cancelled;
    boolean done;

    Task(long delayMillis, Runnable run) {
      this.delayMillis = delayMillis;
      this.run = run;
    }
  }

  private final List<Task> tasks = new ArrayList<>();

  @Override
  public Runnable schedule(long delayMillis, Runnable task) {
    Task scheduled = new Task(delayMillis, task);
    tasks.add(scheduled);
    return () -> scheduled.cancelled = true;
  }

  /** Runs the pending tasks whose delay matches, as if that time had passed; how many ran. */
  int run(LongPredicate delay) {
    int ran = 0;
    for (Task task : List.copyOf(tasks)) {
      if (!task.cancelled && !task.done && delay.test(task.delayMillis)) {
        task.done = true;
        task.run.run();
        ran++;
      }
    }
    return ran;
  }

  int run(long delayMillis) {
    return run(d -> d == delayMillis);
  }

  /** Tasks neither run nor cancelled. */
  long pending() {
    return tasks.stream().filter(t -> !t.cancelled && !t.done).count();
  }
}
