package dev.streamrag.bench.metrics;

import dev.streamrag.bench.LatencyStages;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.util.Collector;

/**
 * Latency records → Flink metrics, so a running system is watched by whatever scrapes Flink (the
 * Prometheus reporter): the in-job breakdown (stamped inside the job, so {@code job_e2e} and {@code
 * job_ttft} leave out the trip to the client; the gateway's metrics and the run report have the
 * client's view), a histogram per request kind and stage (milliseconds, over the last {@value
 * #WINDOW} records; Flink's own sliding-window histogram, as the inference job uses), responses by
 * status, cache hits, and requests within the SLO, with gauges for the ratios.
 *
 * <p>As Flink's Prometheus reporter names them (label keys become part of the name): {@code
 * flink_taskmanager_job_task_operator_streamrag_kind_stage_latency_ms{kind, stage, quantile}}, and
 * with the same prefix {@code streamrag_status_responses{status}}, {@code streamrag_cache_hits},
 * {@code streamrag_slo_good}, {@code streamrag_goodput_ratio}, {@code streamrag_cache_hit_ratio}.
 * {@code LocalStackIT} scrapes them.
 */
public final class LatencyMetrics extends RichFlatMapFunction<LatencyRecord, Void> {
  private static final long serialVersionUID = 1L;
  static final int WINDOW = 10_000;

  private final double sloTtftMillis;
  private final double sloE2eMillis;

  private transient Map<String, Histogram> histograms;
  private transient Map<ResponseStatus, Counter> responses;
  private transient Counter cacheHits;
  private transient Counter good;
  private transient AtomicLong total;

  public LatencyMetrics(double sloTtftMillis, double sloE2eMillis) {
    this.sloTtftMillis = sloTtftMillis;
    this.sloE2eMillis = sloE2eMillis;
  }

  @Override
  public void open(OpenContext context) {
    MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("streamrag");
    histograms = new HashMap<>();
    for (String kind : List.of("ALL", "RAG", "CHAT", "AGENT")) {
      for (String stage : LatencyStages.JOB.keySet()) {
        histograms.put(
            kind + "/" + stage,
            group
                .addGroup("kind", kind)
                .addGroup("stage", stage)
                .histogram("latency_ms", new DescriptiveStatisticsHistogram(WINDOW)));
      }
    }
    responses = new HashMap<>();
    for (ResponseStatus status : ResponseStatus.values()) {
      responses.put(status, group.addGroup("status", status.name()).counter("responses"));
    }
    cacheHits = group.counter("cache_hits");
    good = group.counter("slo_good");
    total = new AtomicLong();
    group.gauge("goodput_ratio", () -> ratio(good.getCount()));
    group.gauge("cache_hit_ratio", () -> ratio(cacheHits.getCount()));
  }

  private double ratio(long count) {
    long all = total.get();
    return all == 0 ? 0.0 : (double) count / all;
  }

  @Override
  public void flatMap(LatencyRecord record, Collector<Void> out) {
    total.incrementAndGet();
    responses.get(record.getStatus()).inc();
    if (record.getCacheHit() == CacheHitKind.RESPONSE) {
      cacheHits.inc();
    }
    StageTimings t = record.getTimings();
    if (record.getStatus() == ResponseStatus.OK
        && t.getTotalMs() != null
        && t.getTotalMs() <= sloE2eMillis
        && LatencyStages.jobTtft(t) <= sloTtftMillis) {
      good.inc();
    }
    if (record.getStatus() != ResponseStatus.OK) {
      return; // failures are counted by status; their latencies would mix two populations
    }
    for (String kind : List.of("ALL", record.getKind().name())) {
      LatencyStages.JOB.forEach(
          (stage, read) -> {
            Double millis = read.apply(t);
            if (millis != null) {
              histograms.get(kind + "/" + stage).update(Math.round(millis));
            }
          });
    }
  }
}
