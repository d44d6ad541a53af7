package dev.streamrag.bench.report;

import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Latencies of one stage in an HdrHistogram (microsecond resolution, 3 significant digits, up to an
 * hour), summarised as the percentiles the report prints.
 */
public final class LatencyStats {
  private static final long MAX_MICROS = 3_600_000_000L;

  private final Histogram histogram = new Histogram(MAX_MICROS, 3);

  public void record(double millis) {
    long micros = Math.max(0, Math.min(MAX_MICROS, Math.round(millis * 1000)));
    histogram.recordValue(micros);
  }

  public long count() {
    return histogram.getTotalCount();
  }

  /** The value at {@code percentile} (0–100) in ms; NaN when empty. */
  public double percentile(double percentile) {
    return count() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1000.0;
  }

  public Summary summary() {
    if (count() == 0) {
      return new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    return new Summary(
        count(),
        percentile(50),
        percentile(90),
        percentile(99),
        percentile(99.9),
        histogram.getMean() / 1000.0,
        histogram.getMaxValue() / 1000.0);
  }

  /** The distribution as (ms, share of values ≤ ms) points, from every 1% and the top 0.1%. */
  public List<CdfPoint> cdf() {
    List<CdfPoint> points = new ArrayList<>();
    if (count() == 0) {
      return points;
    }
    points.add(new CdfPoint(histogram.getMinValue() / 1000.0, 0));
    for (int p = 1; p <= 99; p++) {
      points.add(new CdfPoint(percentile(p), p / 100.0));
    }
    points.add(new CdfPoint(percentile(99.9), 0.999));
    points.add(new CdfPoint(histogram.getMaxValue() / 1000.0, 1.0));
    return points;
  }

  /** One point of a cumulative distribution. */
  public record CdfPoint(double millis, double share) {}

  /** Percentiles in milliseconds. */
  public record Summary(
      long count, double p50, double p90, double p99, double p999, double mean, double max) {}
}
