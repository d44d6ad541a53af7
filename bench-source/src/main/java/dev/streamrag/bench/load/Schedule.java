package dev.streamrag.bench.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * When each request of a run is due, as nanoseconds after the run's start, and the lengths a trace
 * fixes for it (0 where the scenario's distributions decide). Computed from the scenario alone, so
 * the client (to count requests) and the source (to pace them) compute the same schedule.
 */
public record Schedule(long[] offsetsNanos, int[] promptChars, int[] maxTokens) {
  private static final double NANOS = 1e9;

  public int size() {
    return offsetsNanos.length;
  }

  public static Schedule of(Scenario scenario) {
    return switch (scenario.arrival()) {
      case CONSTANT -> lengthsFree(constant(scenario));
      case POISSON ->
          lengthsFree(poisson(scenario, scenario.rate(), scenario.duration().toNanos()));
      case BURSTY -> lengthsFree(bursty(scenario));
      case RAMP -> lengthsFree(ramp(scenario));
      case TRACE -> trace(Path.of(scenario.traceFile()), scenario.maxRequests());
    };
  }

  private static Schedule lengthsFree(long[] offsets) {
    return new Schedule(offsets, new int[offsets.length], new int[offsets.length]);
  }

  private static long[] constant(Scenario s) {
    long count = (long) Math.floor(s.rate() * s.duration().toNanos() / NANOS);
    checkSize(count, s);
    long[] offsets = new long[(int) count];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = (long) (i * NANOS / s.rate());
    }
    return offsets;
  }

  private static long[] poisson(Scenario s, double rate, long untilNanos) {
    SplittableRandom random = new SplittableRandom(s.seed());
    Builder offsets = new Builder(s);
    double t = 0;
    while (true) {
      t += -Math.log(1.0 - random.nextDouble()) * NANOS / rate;
      if (t >= untilNanos) {
        return offsets.build();
      }
      offsets.add((long) t);
    }
  }

  /**
   * A Poisson process in "on-time" at the burst rate, laid onto the wall clock with the off-phases
   * cut in: the average over whole periods is {@code rate}.
   */
  private static long[] bursty(Scenario s) {
    long on = s.burstOn().toNanos();
    long period = on + s.burstOff().toNanos();
    long periods = s.duration().toNanos() / period;
    long rest = Math.min(on, s.duration().toNanos() - periods * period);
    double burstRate = s.rate() * period / on;
    long[] onTime = poisson(s, burstRate, periods * on + rest);
    for (int i = 0; i < onTime.length; i++) {
      onTime[i] = (onTime[i] / on) * period + onTime[i] % on;
    }
    return onTime;
  }

  /** Evenly spaced at the current rate, which moves linearly from rate to rampTo. */
  private static long[] ramp(Scenario s) {
    Builder offsets = new Builder(s);
    double end = s.duration().toNanos();
    double t = 0;
    while (t < end) {
      offsets.add((long) t);
      double rate = s.rate() + (s.rampTo() - s.rate()) * t / end;
      t += NANOS / rate;
    }
    return offsets.build();
  }

  static Schedule trace(Path file, int maxRequests) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read trace file " + file, e);
    }
    long[] offsets = new long[lines.size()];
    int[] prompt = new int[lines.size()];
    int[] tokens = new int[lines.size()];
    int n = 0;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] fields = line.split(",");
      try {
        offsets[n] = (long) (Double.parseDouble(fields[0].strip()) * 1_000_000);
        prompt[n] = fields.length > 1 ? Integer.parseInt(fields[1].strip()) : 0;
        tokens[n] = fields.length > 2 ? Integer.parseInt(fields[2].strip()) : 0;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            file
                + " line "
                + (i + 1)
                + ": expected offsetMillis[,promptChars[,maxTokens]], got '"
                + line
                + "'",
            e);
      }
      if (offsets[n] < 0 || (n > 0 && offsets[n] < offsets[n - 1])) {
        throw new IllegalArgumentException(
            file + " line " + (i + 1) + ": offsets must not be negative or go back in time");
      }
      n++;
      if (n > maxRequests) {
        throw new IllegalArgumentException(
            file + " holds more than bench.max-requests (" + maxRequests + ") requests");
      }
    }
    return new Schedule(
        Arrays.copyOf(offsets, n), Arrays.copyOf(prompt, n), Arrays.copyOf(tokens, n));
  }

  private static void checkSize(long count, Scenario s) {
    if (count > s.maxRequests()) {
      throw new IllegalArgumentException(
          "the scenario would send more than bench.max-requests ("
              + s.maxRequests()
              + ") requests; lower bench.rate or bench.duration");
    }
  }

  /** A growing long array that refuses to pass bench.max-requests. */
  private static final class Builder {
    private final Scenario scenario;
    private long[] values = new long[1024];
    private int size;

    Builder(Scenario scenario) {
      this.scenario = scenario;
    }

    void add(long value) {
      checkSize(size + 1L, scenario);
      if (size == values.length) {
        values = Arrays.copyOf(values, values.length * 2);
      }
      values[size++] = value;
    }

    long[] build() {
      return Arrays.copyOf(values, size);
    }
  }
}
