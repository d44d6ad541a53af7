package dev.streamrag.llmsim.server;

import dev.streamrag.llmsim.engine.RealTimeEngineDriver;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * The simulator's metrics under vLLM's names, in Prometheus text format, so that dashboards and
 * alerts written for vLLM work unchanged. Gauges come from the engine after every step, so they
 * move with load (running, waiting, KV-cache usage); latencies are measured per request at the HTTP
 * layer as a client would see them.
 *
 * <p>Written by hand rather than with a metrics library: the names carry vLLM's {@code vllm:}
 * prefix and exact suffixes, and a dozen series need no registry.
 */
final class ServerMetrics {
  private static final double[] TTFT_BUCKETS = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0
  };
  private static final double[] TPOT_BUCKETS = {
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0
  };
  private static final double[] E2E_BUCKETS = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0
  };

  private final String model;
  private final RealTimeEngineDriver driver;
  final LongAdder promptTokens = new LongAdder();
  final LongAdder generationTokens = new LongAdder();
  final LongAdder finishedStop = new LongAdder();
  final LongAdder finishedLength = new LongAdder();
  final LongAdder abortedByClient = new LongAdder();
  private final LongAdder injected429 = new LongAdder();
  private final LongAdder injected500 = new LongAdder();
  private final LongAdder injected503 = new LongAdder();
  final LongAdder injectedStalls = new LongAdder();
  final LongAdder injectedDrops = new LongAdder();
  final LongAdder injectedToolRepeats = new LongAdder();
  final Histogram timeToFirstToken = new Histogram(TTFT_BUCKETS);
  final Histogram timePerOutputToken = new Histogram(TPOT_BUCKETS);
  final Histogram e2eLatency = new Histogram(E2E_BUCKETS);

  ServerMetrics(String model, RealTimeEngineDriver driver) {
    this.model = model;
    this.driver = driver;
  }

  /** The counter of injected HTTP errors with this status. */
  LongAdder injectedFaults(int status) {
    switch (status) {
      case 429:
        return injected429;
      case 500:
        return injected500;
      default:
        return injected503;
    }
  }

  /** Prometheus text exposition format 0.0.4. */
  String render() {
    RealTimeEngineDriver.Gauges gauges = driver.gauges();
    StringBuilder out = new StringBuilder(4096);
    gauge(out, "vllm:num_requests_running", "Requests in the running batch.", gauges.running());
    gauge(out, "vllm:num_requests_waiting", "Requests waiting to be scheduled.", gauges.waiting());
    gauge(
        out,
        "vllm:kv_cache_usage_perc",
        "KV-cache usage; 1 means 100 percent.",
        gauges.kvCacheUsage());
    counter(out, "vllm:prompt_tokens_total", "Prompt tokens processed.", promptTokens.sum());
    counter(out, "vllm:generation_tokens_total", "Tokens generated.", generationTokens.sum());
    counter(
        out,
        "vllm:prefix_cache_queries_total",
        "Prompt tokens looked up in the prefix cache.",
        gauges.prefixQueryTokens());
    counter(
        out,
        "vllm:prefix_cache_hits_total",
        "Prompt tokens found in the prefix cache.",
        gauges.prefixHitTokens());
    counter(
        out,
        "vllm:num_preemptions_total",
        "Sequences preempted for KV-cache space.",
        gauges.preemptions());
    out.append("# HELP vllm:request_success_total Finished requests by finish reason.\n");
    out.append("# TYPE vllm:request_success_total counter\n");
    out.append("vllm:request_success_total{model_name=\"")
        .append(model)
        .append("\",finished_reason=\"stop\"} ")
        .append(finishedStop.sum())
        .append('\n');
    out.append("vllm:request_success_total{model_name=\"")
        .append(model)
        .append("\",finished_reason=\"length\"} ")
        .append(finishedLength.sum())
        .append('\n');
    out.append("vllm:request_success_total{model_name=\"")
        .append(model)
        .append("\",finished_reason=\"abort\"} ")
        .append(abortedByClient.sum())
        .append('\n');
    counter(
        out,
        "llm_sim:client_disconnects_total",
        "Requests whose client went away before the end; the engine aborted them.",
        abortedByClient.sum());
    out.append("# HELP llm_sim:injected_faults_total Faults injected by the fault plan.\n");
    out.append("# TYPE llm_sim:injected_faults_total counter\n");
    fault(out, "http_429", injected429.sum());
    fault(out, "http_500", injected500.sum());
    fault(out, "http_503", injected503.sum());
    fault(out, "stall", injectedStalls.sum());
    fault(out, "drop", injectedDrops.sum());
    fault(out, "tool_repeat", injectedToolRepeats.sum());
    histogram(out, "vllm:time_to_first_token_seconds", "Time to first token.", timeToFirstToken);
    histogram(
        out,
        "vllm:time_per_output_token_seconds",
        "Time per output token after the first.",
        timePerOutputToken);
    histogram(out, "vllm:e2e_request_latency_seconds", "End-to-end request latency.", e2eLatency);
    return out.toString();
  }

  private void fault(StringBuilder out, String kind, long value) {
    out.append("llm_sim:injected_faults_total{model_name=\"")
        .append(model)
        .append("\",kind=\"")
        .append(kind)
        .append("\"} ")
        .append(value)
        .append('\n');
  }

  private void gauge(StringBuilder out, String name, String help, double value) {
    header(out, name, help, "gauge");
    out.append(name).append(labels()).append(' ').append(value).append('\n');
  }

  private void counter(StringBuilder out, String name, String help, long value) {
    header(out, name, help, "counter");
    out.append(name).append(labels()).append(' ').append(value).append('\n');
  }

  private void histogram(StringBuilder out, String name, String help, Histogram histogram) {
    header(out, name, help, "histogram");
    long cumulative = 0;
    for (int i = 0; i < histogram.bounds.length; i++) {
      cumulative += histogram.counts[i].sum();
      out.append(name)
          .append("_bucket{model_name=\"")
          .append(model)
          .append("\",le=\"")
          .append(histogram.bounds[i])
          .append("\"} ")
          .append(cumulative)
          .append('\n');
    }
    cumulative += histogram.counts[histogram.bounds.length].sum();
    out.append(name)
        .append("_bucket{model_name=\"")
        .append(model)
        .append("\",le=\"+Inf\"} ")
        .append(cumulative)
        .append('\n');
    out.append(name)
        .append("_sum")
        .append(labels())
        .append(' ')
        .append(histogram.sum.sum())
        .append('\n');
    out.append(name).append("_count").append(labels()).append(' ').append(cumulative).append('\n');
  }

  private static void header(StringBuilder out, String name, String help, String type) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private String labels() {
    return "{model_name=\"" + model + "\"}";
  }

  /** A fixed-bucket histogram that many event-loop threads can record into. */
  static final class Histogram {
    final double[] bounds;
    final LongAdder[] counts;
    final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds;
      this.counts = new LongAdder[bounds.length + 1];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void record(double seconds) {
      int bucket = 0;
      while (bucket < bounds.length && seconds > bounds[bucket]) {
        bucket++;
      }
      counts[bucket].increment();
      sum.add(seconds);
    }
  }
}
