package dev.streamrag.llmsim.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a {@link ContinuousBatchingEngine} in real time on one thread: it schedules a step, waits
 * until the step's modelled end (a short park, then a spin for the last stretch, so tokens leave
 * within tens of microseconds of their modelled time), and hands the step's tokens to each
 * request's {@link TokenListener}. Other threads submit and cancel through queues, so the engine
 * itself needs no locks.
 *
 * <p>Listeners run on the driver thread and must not block: a server hands the event to its own
 * event loop. The engine's gauges are published after every step for metrics readers.
 */
public final class RealTimeEngineDriver implements AutoCloseable {
  private static final long SPIN_NANOS = 200_000;

  /** Receives one request's tokens, in order, on the driver thread. */
  @FunctionalInterface
  public interface TokenListener {
    void onToken(TokenEvent event);
  }

  /** A snapshot of the engine's gauges, published after each step. */
  public record Gauges(
      int running,
      int waiting,
      double kvCacheUsage,
      long prefixQueryTokens,
      long prefixHitTokens,
      long preemptions,
      long aborted,
      long steps) {}

  private final ContinuousBatchingEngine engine;
  private final ConcurrentLinkedQueue<Submission> submissions = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> cancellations = new ConcurrentLinkedQueue<>();
  private final Map<String, TokenListener> listeners = new HashMap<>();
  private final AtomicReference<Gauges> gauges =
      new AtomicReference<>(new Gauges(0, 0, 0, 0, 0, 0, 0, 0));
  private final Thread thread;
  private final long originNanos = System.nanoTime();
  private volatile boolean running = true;
  private long steps;

  private record Submission(SequenceRequest request, TokenListener listener) {}

  public RealTimeEngineDriver(EngineProfile profile) {
    this.engine = new ContinuousBatchingEngine(profile);
    this.thread = new Thread(this::loop, "llm-sim-engine-" + profile.name());
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * Queues a request; its tokens go to {@code listener}. Throws {@link IllegalArgumentException} at
   * once if it can never fit the profile's context window.
   */
  public void submit(SequenceRequest request, TokenListener listener) {
    engine.profile().checkFits(request);
    if (!running) {
      throw new IllegalStateException("engine driver is closed");
    }
    submissions.add(new Submission(request, listener));
    LockSupport.unpark(thread);
  }

  /**
   * Aborts a request whose client went away, freeing its place in the batch and its KV cache at the
   * next step boundary; no more tokens reach its listener. Unknown or finished ids are ignored.
   */
  public void cancel(String requestId) {
    cancellations.add(requestId);
    LockSupport.unpark(thread);
  }

  public Gauges gauges() {
    return gauges.get();
  }

  public EngineProfile profile() {
    return engine.profile();
  }

  private void loop() {
    // When the engine is busy, a step starts where the previous one ended, as on the model's
    // clock. Starting it at "now" instead would add this thread's own work between steps
    // (handing out tokens, scheduling, a late wake-up on a busy machine) to every step, and
    // tokens would drift later and later than the model scheduled them.
    long previousEnd = Long.MIN_VALUE;
    while (running) {
      drainSubmissions();
      ContinuousBatchingEngine.Step step = engine.schedule();
      if (step == null) {
        publishGauges();
        LockSupport.park(this); // woken by submit() or close()
        previousEnd = Long.MIN_VALUE;
        continue;
      }
      long now = System.nanoTime();
      long start = previousEnd == Long.MIN_VALUE ? now : previousEnd;
      long end = start + step.durationMicros() * 1_000;
      previousEnd = end;
      waitUntil(end);
      steps++;
      List<TokenEvent> events = engine.complete(step, (System.nanoTime() - originNanos) / 1_000);
      publishGauges();
      for (TokenEvent event : events) {
        TokenListener listener =
            event.last() ? listeners.remove(event.requestId()) : listeners.get(event.requestId());
        if (listener != null) {
          try {
            listener.onToken(event);
          } catch (RuntimeException e) {
            // A broken listener (e.g. a closed connection) must not stop the engine.
          }
        }
      }
    }
  }

  private void drainSubmissions() {
    List<Submission> batch = new ArrayList<>();
    for (Submission next = submissions.poll(); next != null; next = submissions.poll()) {
      batch.add(next);
    }
    for (Submission submission : batch) {
      listeners.put(submission.request().id(), submission.listener());
      engine.submit(submission.request());
    }
    // After submissions, so that a request cancelled right after it was submitted is found.
    for (String id = cancellations.poll(); id != null; id = cancellations.poll()) {
      if (listeners.remove(id) != null) {
        engine.abort(id);
      }
    }
  }

  private static void waitUntil(long deadlineNanos) {
    long remaining;
    while ((remaining = deadlineNanos - System.nanoTime()) > SPIN_NANOS) {
      LockSupport.parkNanos(remaining - SPIN_NANOS);
    }
    while (System.nanoTime() < deadlineNanos) {
      Thread.onSpinWait();
    }
  }

  private void publishGauges() {
    gauges.set(
        new Gauges(
            engine.running(),
            engine.waiting() + submissions.size(),
            engine.kvCacheUsage(),
            engine.prefixQueryTokens(),
            engine.prefixHitTokens(),
            engine.preemptions(),
            engine.aborted(),
            steps));
  }

  @Override
  public void close() {
    running = false;
    LockSupport.unpark(thread);
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
