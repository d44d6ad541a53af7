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
import java.util.Locale;

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
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Why an accepted chat completion ended without its complete OK answer reaching the client. The
   * rule of {@code streamrag_gateway_failed_answers_total}: every chat completion the gateway
   * accepted (its request handed to Kafka) that does not end with a complete OK answer written to
   * the client is counted exactly once, with the first reason that applied, whether the failure was
   * sent as an HTTP status or in-band. Requests refused before that (401, 400, 404, 408, 413, 429,
   * an unavailable Kafka) are counted only in {@code streamrag_gateway_requests_total}.
   */
  public enum AnswerFailure {
    /** The job's END was REJECTED (the client's request was invalid). */
    JOB_REJECTED,
    /** The job's END was ERROR or TIMEOUT. */
    JOB_ERROR,
    /** A newer generation contradicted text already sent. */
    DIVERGED,
    /** No END before the deadline plus grace. */
    DEADLINE,
    /** Kafka refused the request; it was not stored. */
    SEND_FAILED,
    /** The pieces consumer failed while the request was open: pieces may have been missed. */
    ANSWER_LOST,
    /** The gateway stopped before the answer was complete. */
    SHUTDOWN,
    /** The client read too slowly: its buffer passed the cap, or it did not read the end. */
    SLOW_CLIENT,
    /** The client closed the connection first. */
    CLIENT_GONE;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Why the gateway closed a client connection on purpose. */
  public enum ConnectionClose {
    /** More than {@code --max-connections} were open. */
    OVER_LIMIT,
    /** No request in progress for {@code --idle-timeout}. */
    IDLE,
    /** The request body did not arrive within {@code --body-timeout}. */
    BODY_TIMEOUT;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public static final String AUTH_MISSING_KEY = "missing_key";
  public static final String AUTH_INVALID_KEY = "invalid_key";

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
  private final Counter failedAnswers;
  private final Gauge openConnections;
  private final Counter connectionsClosed;
  private final Counter authFailures;
  private final Counter kafkaSends;
  private final Counter consumerFailures;

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
    failedAnswers =
        Counter.builder()
            .name("streamrag_gateway_failed_answers_total")
            .help(
                "Accepted chat completions (request handed to Kafka) that did not end with their"
                    + " complete OK answer written to the client; each counted once, by the first"
                    + " reason.")
            .labelNames("reason")
            .register(registry);
    openConnections =
        Gauge.builder()
            .name("streamrag_gateway_open_connections")
            .help("Open client connections to the API listener.")
            .register(registry);
    connectionsClosed =
        Counter.builder()
            .name("streamrag_gateway_connections_closed_total")
            .help(
                "Client connections the gateway closed on purpose: over --max-connections, idle,"
                    + " or a request body that did not arrive in time.")
            .labelNames("reason")
            .register(registry);
    authFailures =
        Counter.builder()
            .name("streamrag_gateway_auth_failures_total")
            .help("Requests refused with 401: no API key, or an unknown one.")
            .labelNames("reason")
            .register(registry);
    kafkaSends =
        Counter.builder()
            .name("streamrag_gateway_kafka_sends_total")
            .help(
                "Requests produced to Kafka, by outcome: sent, refused (not stored), uncertain"
                    + " (delivery timed out; may be stored).")
            .labelNames("outcome")
            .register(registry);
    consumerFailures =
        Counter.builder()
            .name("streamrag_gateway_pieces_consumer_failures_total")
            .help(
                "Times the reply partition consumer failed after it was reading and was created"
                    + " again; the requests open then were failed.")
            .register(registry);
    for (PieceOutcome outcome : PieceOutcome.values()) {
      pieces.labelValues(outcome.label());
    }
    for (String reason : new String[] {"stale", "duplicate", "late"}) {
      piecesDropped.labelValues(reason);
    }
    for (AnswerFailure reason : AnswerFailure.values()) {
      failedAnswers.labelValues(reason.label());
    }
    for (ConnectionClose reason : ConnectionClose.values()) {
      connectionsClosed.labelValues(reason.label());
    }
    for (String reason : new String[] {AUTH_MISSING_KEY, AUTH_INVALID_KEY}) {
      authFailures.labelValues(reason);
    }
    for (String outcome : new String[] {"sent", "refused", "uncertain"}) {
      kafkaSends.labelValues(outcome);
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
    failedAnswers.labelValues(reason.label()).inc();
  }

  public double failedAnswers(AnswerFailure reason) {
    return failedAnswers.labelValues(reason.label()).get();
  }

  public void connectionOpened() {
    openConnections.inc();
  }

  public void connectionClosed() {
    openConnections.dec();
  }

  public double openConnections() {
    return openConnections.get();
  }

  /** The gateway closed a connection on purpose. */
  public void connectionClosedBy(ConnectionClose reason) {
    connectionsClosed.labelValues(reason.label()).inc();
  }

  public double connectionsClosedBy(ConnectionClose reason) {
    return connectionsClosed.labelValues(reason.label()).get();
  }

  /** A 401; {@code reason} is {@link #AUTH_MISSING_KEY} or {@link #AUTH_INVALID_KEY}. */
  public void authFailure(String reason) {
    authFailures.labelValues(reason).inc();
  }

  public double authFailures(String reason) {
    return authFailures.labelValues(reason).get();
  }

  /** One request produced to Kafka; {@code outcome} is sent, refused or uncertain. */
  public void kafkaSend(String outcome) {
    kafkaSends.labelValues(outcome).inc();
  }

  public double kafkaSends(String outcome) {
    return kafkaSends.labelValues(outcome).get();
  }

  public void consumerFailed() {
    consumerFailures.inc();
  }

  public double consumerFailures() {
    return consumerFailures.get();
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
