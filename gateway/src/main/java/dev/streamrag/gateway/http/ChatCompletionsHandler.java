package dev.streamrag.gateway.http;

import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
import dev.streamrag.gateway.exchange.HttpClientResponse;
import dev.streamrag.gateway.kafka.KafkaAvailability;
import dev.streamrag.gateway.kafka.RequestPublisher;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import dev.streamrag.gateway.openai.RequestOrigin;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.RecordCodec;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.Objects;
import java.util.UUID;

/**
 * {@code POST /v1/chat/completions}, after authentication: maps the body to an InferenceRequest,
 * opens an {@link Exchange} for it, arms its deadline, and produces the request to Kafka.
 * Everything after that is driven by the pieces that come back. Refuses at once, without touching
 * Kafka, when Kafka is known to be unavailable (503) or the gateway holds its maximum of open
 * requests (429).
 */
final class ChatCompletionsHandler {
  /** Settings of the handler that are not services. */
  record Settings(
      String replyTopic, int replyPartition, long deadlineGraceMillis, long maxClientBufferBytes) {}

  private final Vertx vertx;
  private final ChatRequestMapper mapper;
  private final ExchangeRegistry exchanges;
  private final RequestPublisher publisher;
  private final KafkaAvailability kafka;
  private final GatewayMetrics metrics;
  private final Settings settings;
  private final RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);

  ChatCompletionsHandler(
      Vertx vertx,
      ChatRequestMapper mapper,
      ExchangeRegistry exchanges,
      RequestPublisher publisher,
      KafkaAvailability kafka,
      GatewayMetrics metrics,
      Settings settings) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.mapper = Objects.requireNonNull(mapper, "mapper");
    this.exchanges = Objects.requireNonNull(exchanges, "exchanges");
    this.publisher = Objects.requireNonNull(publisher, "publisher");
    this.kafka = Objects.requireNonNull(kafka, "kafka");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  void handle(RoutingContext ctx) {
    long arrivedNanos = ctx.get(ApiKeyAuthentication.ARRIVED_NANOS);
    long receivedAtMillis = ctx.get(ApiKeyAuthentication.ARRIVED_MILLIS);
    String tenant = ctx.get(ApiKeyAuthentication.TENANT);
    HttpServerResponse http = ctx.response();
    if (!kafka.available()) {
      ErrorResponses.send(http, ApiError.kafkaUnavailable(kafka.reason()), Exchange.ROUTE, metrics);
      return;
    }
    String requestId = "gw-" + UUID.randomUUID();
    http.putHeader("x-request-id", requestId);
    ChatRequestMapper.Mapping mapping =
        mapper.map(
            ctx.body().asString(),
            new RequestOrigin(
                requestId,
                tenant,
                receivedAtMillis,
                settings.replyTopic(),
                settings.replyPartition(),
                ctx.request().getHeader("traceparent")));
    if (!mapping.isOk()) {
      ErrorResponses.send(http, mapping.error(), Exchange.ROUTE, metrics);
      return;
    }
    // The request's own (duplicated) context: its event loop runs every event of the exchange.
    Context context = vertx.getOrCreateContext();
    Exchange exchange =
        new Exchange(
            mapping.request(),
            new HttpClientResponse(http),
            task -> context.runOnContext(v -> task.run()),
            metrics,
            arrivedNanos,
            settings.maxClientBufferBytes());
    if (!exchanges.tryAdd(exchange)) {
      ErrorResponses.send(
          http, ApiError.tooManyStreams(exchanges.maxOpen()), Exchange.ROUTE, metrics);
      return;
    }
    metrics.streamOpened();
    long waitMillis =
        mapping.request().deadlineMillis()
            + settings.deadlineGraceMillis()
            - System.currentTimeMillis();
    long timer = vertx.setTimer(Math.max(1, waitMillis), id -> exchange.onDeadline());
    exchange.onClosed(
        () -> {
          exchanges.remove(exchange);
          metrics.streamClosed();
          vertx.cancelTimer(timer);
        });
    http.closeHandler(v -> exchange.onClientClosed());
    http.exceptionHandler(e -> exchange.onClientClosed());
    if (http.closed()) {
      exchange.onClientClosed(); // gone while its body was read: no close event will follow
      return;
    }

    publisher.send(
        requestId,
        codec.encode(mapping.request().request()),
        error -> {
          if (error != null) {
            exchange.execute(() -> exchange.onSendFailed(String.valueOf(error.getMessage())));
          }
        });
  }
}
