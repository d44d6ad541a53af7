package dev.streamrag.gateway.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The gateway's Prometheus metrics, served on {@code /metrics}. Names follow the project's scheme
 * ({@code streamrag_gateway_*}, snake_case, the unit in the name); labels take only values from a
 * fixed set (routes, status codes, outcomes), never request data. Each gateway has its own
 * registry, so several can run in one JVM (tests).
 */
public final class GatewayMetrics {
  /** Where a piece read from the reply partition went. */
  public enum PieceOutcome {
    ROUTED,
    UNKNOWN,
    UNDECODABLE;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Why an exchange ended without the answer it promised. */
  public enum AnswerFailure {
    /** The job's END was not OK after text had been sent. */
    JOB_ERROR,
    /** A newer generation contradicted text already sent. */
    DIVERGED,
    /** No END before the deadline plus grace. */
    DEADLINE,
    /** The client read too slowly; its buffer passed the cap. */
    SLOW_CLIENT,
    /** The client closed the connection first. */
    CLIENT_GONE;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private static final double[] FIRST_TEXT_BUCKETS_MS = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests;
  private final Gauge openStreams;
  private final Counter pieces;
  private final Counter piecesDropped;
  private final Histogram firstText;
  private final Gauge kafkaUp;
  private final Counter streamEnds;

  public GatewayMetrics() {
    requests =
        Counter.builder()
            .name("streamrag_gateway_requests_total")
            .help("HTTP requests answered, by route and HTTP status.")
            .labelNames("route", "status")
            .register(registry);
    openStreams =
        Gauge.builder()
            .name("streamrag_gateway_open_streams")
            .help("Chat completions waiting for or streaming their answer.")
            .register(registry);
    pieces =
        Counter.builder()
            .name("streamrag_gateway_pieces_total")
            .help(
                "Answer pieces read from this gateway's reply partition: routed to an open"
                    + " request, for a request this gateway does not hold (unknown), or not"
                    + " decodable.")
            .labelNames("outcome")
            .register(registry);
    piecesDropped =
        Counter.builder()
            .name("streamrag_gateway_pieces_dropped_total")
            .help(
                "Routed pieces the answer contract dropped: of an older generation (stale),"
                    + " already applied (duplicate), or after the answer ended (late).")
            .labelNames("reason")
            .register(registry);
    firstText =
        Histogram.builder()
            .name("streamrag_gateway_time_to_first_text_ms")
            .help(
                "From a chat completion's arrival to its first answer text written to the client.")
            .classicOnly()
            .classicUpperBounds(FIRST_TEXT_BUCKETS_MS)
            .register(registry);
    kafkaUp =
        Gauge.builder()
            .name("streamrag_gateway_kafka_up")
            .help("1 when Kafka and this gateway's reply partition are reachable, else 0.")
            .register(registry);
    streamEnds =
        Counter.builder()
            .name("streamrag_gateway_failed_answers_total")
            .help(
                "Chat completions that ended without their answer after the gateway had"
                    + " accepted them, by reason.")
            .labelNames("reason")
            .register(registry);
    for (PieceOutcome outcome : PieceOutcome.values()) {
      pieces.labelValues(outcome.label());
    }
    for (String reason : new String[] {"stale", "duplicate", "late"}) {
      piecesDropped.labelValues(reason);
    }
    for (AnswerFailure end : AnswerFailure.values()) {
      streamEnds.labelValues(end.label());
    }
  }

  /** One HTTP answer on {@code route} (a fixed route name) with {@code status}. */
  public void request(String route, int status) {
    requests.labelValues(route, Integer.toString(status)).inc();
  }

  public void streamOpened() {
    openStreams.inc();
  }

  public void streamClosed() {
    openStreams.dec();
  }

  public double openStreams() {
    return openStreams.get();
  }

  public void piece(PieceOutcome outcome) {
    pieces.labelValues(outcome.label()).inc();
  }

  public double pieces(PieceOutcome outcome) {
    return pieces.labelValues(outcome.label()).get();
  }

  /** Pieces the answer contract dropped for one request, counted when the request ends. */
  public void piecesDropped(int stale, int duplicates, int late) {
    if (stale > 0) {
      piecesDropped.labelValues("stale").inc(stale);
    }
    if (duplicates > 0) {
      piecesDropped.labelValues("duplicate").inc(duplicates);
    }
    if (late > 0) {
      piecesDropped.labelValues("late").inc(late);
    }
  }

  public void firstText(double millis) {
    firstText.observe(millis);
  }

  public void kafkaUp(boolean up) {
    kafkaUp.set(up ? 1 : 0);
  }

  public void failedAnswer(AnswerFailure reason) {
    streamEnds.labelValues(reason.label()).inc();
  }

  /** All metrics in Prometheus' text format (version 0.0.4). */
  public String render() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The content type of {@link #render()}. */
  public static String contentType() {
    return PrometheusTextFormatWriter.CONTENT_TYPE;
  }
}
