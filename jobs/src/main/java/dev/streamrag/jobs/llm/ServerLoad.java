package dev.streamrag.jobs.llm;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The LLM servers' own view of their load, read from their Prometheus {@code /metrics} every {@code
 * interval}, as llm-d's load scorers do: requests waiting in the server's queue ({@code
 * vllm:num_requests_waiting}) and the share of its KV cache in use ({@code
 * vllm:kv_cache_usage_perc}). This router's in-flight counts only see its own requests; a server
 * shared with other tasks, other jobs or other clients is only visible this way.
 *
 * <p>One daemon thread per router asks every endpoint at once (HTTP/1.1, each request timed out
 * within the interval, so one hung server does not delay the others' readings); a reading older
 * than three intervals (the server did not answer) no longer counts, and the router falls back to
 * its own counts.
 */
final class ServerLoad implements AutoCloseable {
  /** One endpoint's last reading. */
  static final class Reading {
    volatile double waiting;
    volatile double kvUsage;
    volatile long readNanos;
  }

  private final List<URI> metricsUris;
  private final Reading[] readings;
  private final long staleNanos;
  private final Duration requestTimeout;
  private final HttpClient http;
  private final ScheduledExecutorService poller;

  ServerLoad(List<URI> baseUrls, Duration interval) {
    this.metricsUris = baseUrls.stream().map(ServerLoad::metricsUri).toList();
    this.readings = new Reading[baseUrls.size()];
    for (int i = 0; i < readings.length; i++) {
      readings[i] = new Reading();
    }
    this.staleNanos = interval.toNanos() * 3;
    this.requestTimeout =
        interval.compareTo(Duration.ofSeconds(1)) < 0 ? interval : Duration.ofSeconds(1);
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade, which some servers refuse
            .connectTimeout(requestTimeout)
            .build();
    this.poller =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "llm-load-poller");
              thread.setDaemon(true);
              return thread;
            });
    poller.scheduleWithFixedDelay(this::pollAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * vLLM serves {@code /metrics} at the server's root, beside {@code /v1}: {@code http://h:8000/v1}
   * and {@code http://h:8000} both read {@code http://h:8000/metrics}; a gateway prefix before
   * {@code /v1} is kept.
   */
  static URI metricsUri(URI baseUrl) {
    String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (path.endsWith("/v1")) {
      path = path.substring(0, path.length() - 3);
    }
    // Scheme, authority and path only: a query (?api-version=...) is the API's, not the metrics'.
    return URI.create(baseUrl.getScheme() + "://" + baseUrl.getRawAuthority() + path + "/metrics");
  }

  /** Endpoint {@code index}'s load score, or -1 when it has no fresh reading. */
  double score(int index) {
    Reading reading = readings[index];
    if (reading.readNanos == 0 || System.nanoTime() - reading.readNanos > staleNanos) {
      return -1;
    }
    // A waiting request costs a full turn in the queue; a full KV cache means preemptions soon,
    // worth about ten waiting requests (llm-d weighs queue and KV scorers alike by default).
    return reading.waiting + 10 * reading.kvUsage;
  }

  private void pollAll() {
    for (int i = 0; i < metricsUris.size(); i++) {
      Reading reading = readings[i];
      http.sendAsync(
              HttpRequest.newBuilder(metricsUris.get(i)).timeout(requestTimeout).GET().build(),
              HttpResponse.BodyHandlers.ofString())
          .thenAccept(
              response -> {
                if (response.statusCode() != 200) {
                  return;
                }
                String body = response.body();
                double waiting = PrometheusText.sum(body, "vllm:num_requests_waiting");
                double kv = PrometheusText.sum(body, "vllm:kv_cache_usage_perc");
                if (Double.isNaN(kv)) {
                  kv = PrometheusText.sum(body, "vllm:gpu_cache_usage_perc"); // vLLM before 0.10
                }
                if (Double.isNaN(waiting)) {
                  return; // not a vLLM server: no reading
                }
                reading.waiting = waiting;
                reading.kvUsage = Double.isNaN(kv) ? 0 : kv;
                reading.readNanos = System.nanoTime();
              });
      // Unreachable, slow or garbled: the reading goes stale and the router uses its own counts.
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
  }
}
