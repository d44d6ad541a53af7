package dev.streamrag.llmsim.server;

import io.vertx.core.Context;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Hands tokens from the engine's thread to one event loop. An engine step ends with a token for
 * every running request (hundreds); one event-loop task per token would queue hundreds of tasks and
 * wake-ups per step. This queues the writes and schedules a single task that drains everything
 * queued so far, so a step costs each event loop one wake-up.
 */
final class TokenDispatcher {
  private final Context context;
  private final ConcurrentLinkedQueue<Runnable> pending = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();

  TokenDispatcher(Context context) {
    this.context = context;
  }

  /** Runs {@code write} on the event loop, after the writes dispatched before it. */
  void dispatch(Runnable write) {
    pending.add(write);
    if (scheduled.compareAndSet(false, true)) {
      context.runOnContext(v -> drain());
    }
  }

  private void drain() {
    // Clear the flag first: a write queued while draining either is drained here or schedules
    // the next task, never neither.
    scheduled.set(false);
    for (Runnable write = pending.poll(); write != null; write = pending.poll()) {
      write.run();
    }
  }
}
