package dev.streamrag.llmsim.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an engine on a simulated clock: requests arrive at given times, steps take the model's
 * durations, and no real time passes. Used to test the latency model's behaviour exactly and to
 * calibrate profiles; the server drives the same engine in real time.
 */
public final class VirtualTimeRun {
  private VirtualTimeRun() {}

  /** A request arriving at {@code atMicros}. */
  public record Arrival(long atMicros, SequenceRequest request) {}

  /** What one request experienced. */
  public record Outcome(
      String id, long arrivalMicros, long firstTokenMicros, long finishMicros, int outputTokens) {
    public long ttftMicros() {
      return firstTokenMicros - arrivalMicros;
    }

    /** Mean time per output token after the first; 0 for one-token answers. */
    public double tpotMicros() {
      return outputTokens < 2 ? 0 : (double) (finishMicros - firstTokenMicros) / (outputTokens - 1);
    }

    public long e2eMicros() {
      return finishMicros - arrivalMicros;
    }
  }

  /** Everything a run produced, plus the peaks of the engine's gauges. */
  public record Result(
      Map<String, Outcome> outcomes,
      long endMicros,
      long steps,
      int peakRunning,
      int peakWaiting,
      double peakKvCacheUsage,
      long prefixQueryTokens,
      long prefixHitTokens,
      long preemptions) {

    public Outcome outcome(String id) {
      return outcomes.get(id);
    }

    /** Output tokens per second of simulated time. */
    public double outputTokensPerSecond() {
      long tokens = outcomes.values().stream().mapToLong(Outcome::outputTokens).sum();
      return tokens * 1e6 / endMicros;
    }
  }

  public static Result run(EngineProfile profile, List<Arrival> arrivals) {
    List<Arrival> pending = new ArrayList<>(arrivals);
    pending.sort(Comparator.comparingLong(Arrival::atMicros));
    ContinuousBatchingEngine engine = new ContinuousBatchingEngine(profile);
    Map<String, Long> arrivedAt = new LinkedHashMap<>();
    Map<String, Long> firstTokenAt = new LinkedHashMap<>();
    Map<String, Outcome> outcomes = new LinkedHashMap<>();
    long now = 0;
    long steps = 0;
    int next = 0;
    int peakRunning = 0;
    int peakWaiting = 0;
    double peakKv = 0;
    while (next < pending.size() || engine.hasWork()) {
      while (next < pending.size() && pending.get(next).atMicros() <= now) {
        Arrival arrival = pending.get(next++);
        engine.submit(arrival.request());
        arrivedAt.put(arrival.request().id(), arrival.atMicros());
      }
      peakWaiting = Math.max(peakWaiting, engine.waiting());
      ContinuousBatchingEngine.Step step = engine.schedule();
      if (step == null) {
        if (next >= pending.size()) {
          throw new IllegalStateException(
              "engine has work but schedules nothing: " + engine.waiting() + " waiting");
        }
        now = pending.get(next).atMicros();
        continue;
      }
      steps++;
      peakRunning = Math.max(peakRunning, engine.running());
      peakKv = Math.max(peakKv, engine.kvCacheUsage());
      now += step.durationMicros();
      for (TokenEvent event : engine.complete(step, now)) {
        if (event.index() == 0) {
          firstTokenAt.put(event.requestId(), event.atMicros());
        }
        if (event.last()) {
          outcomes.put(
              event.requestId(),
              new Outcome(
                  event.requestId(),
                  arrivedAt.get(event.requestId()),
                  firstTokenAt.get(event.requestId()),
                  event.atMicros(),
                  event.index() + 1));
        }
      }
    }
    return new Result(
        outcomes,
        now,
        steps,
        peakRunning,
        peakWaiting,
        peakKv,
        engine.prefixQueryTokens(),
        engine.prefixHitTokens(),
        engine.preemptions());
  }
}
