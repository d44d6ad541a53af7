package dev.streamrag.gateway.http;

import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
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
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * {@code POST /v1/chat/completions}, after authentication: maps the body to an InferenceRequest,
 * opens an {@link Exchange} for it, and produces the request to Kafka. Everything after that is
 * driven by the pieces that come back and the exchange's timers. Refuses at once, without touching
 * Kafka, when the gateway is stopping or Kafka is known to be unavailable (503), the request's
 * record would be larger than Kafka or the job take (413), or the gateway holds its maximum of open
 * requests (429).
 */
final class ChatCompletionsHandler {
  /** Where the request id is kept in the routing context. */
  static final String REQUEST_ID = "streamrag.requestId";

  static final String REQUEST_ID_HEADER = "x-request-id";

  /** Settings of the handler that are not services. */
  record Settings(String replyTopic, int replyPartition, Exchange.Settings exchange) {}

  private final Vertx vertx;
  private final ChatRequestMapper mapper;
  private final ExchangeRegistry exchanges;
  private final RequestPublisher publisher;
  private final ServingState state;
  private final GatewayMetrics metrics;
  private final Settings settings;
  private final RecordCodec<InferenceRequest> codec = RecordCodec.of(InferenceRequest.class);

  ChatCompletionsHandler(
      Vertx vertx,
      ChatRequestMapper mapper,
      ExchangeRegistry exchanges,
      RequestPublisher publisher,
      ServingState state,
      GatewayMetrics metrics,
      Settings settings) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.mapper = Objects.requireNonNull(mapper, "mapper");
    this.exchanges = Objects.requireNonNull(exchanges, "exchanges");
    this.publisher = Objects.requireNonNull(publisher, "publisher");
    this.state = Objects.requireNonNull(state, "state");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /**
   * The first handler of the route, before authentication: every response of a chat completion, 401
   * and 413 included, carries its {@code x-request-id}.
   */
  static void assignRequestId(RoutingContext ctx) {
    String requestId = "gw-" + UUID.randomUUID();
    ctx.put(REQUEST_ID, requestId);
    ctx.response().putHeader(REQUEST_ID_HEADER, requestId);
    ctx.next();
  }

  void handle(RoutingContext ctx) {
    long arrivedNanos = ctx.get(ApiKeyAuthentication.ARRIVED_NANOS);
    long receivedAtMillis = ctx.get(ApiKeyAuthentication.ARRIVED_MILLIS);
    String tenant = ctx.get(ApiKeyAuthentication.TENANT);
    String requestId = ctx.get(REQUEST_ID);
    HttpServerResponse http = ctx.response();
    if (state.shuttingDown()) {
      ErrorResponses.send(http, ApiError.shuttingDown(), Exchange.ROUTE, metrics);
      return;
    }
    if (!state.kafkaAvailable()) {
      ErrorResponses.send(http, ApiError.kafkaUnavailable(), Exchange.ROUTE, metrics);
      return;
    }
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
    byte[] record = codec.encode(mapping.request().request());
    if (!RequestPublisher.fits(requestId, record)) {
      ErrorResponses.send(
          http,
          ApiError.recordTooLarge(RequestPublisher.MAX_RECORD_BYTES),
          Exchange.ROUTE,
          metrics);
      return;
    }
    // The request's own (duplicated) context: its event loop runs every event of the exchange.
    Context context = vertx.getOrCreateContext();
    Exchange exchange =
        new Exchange(
            mapping.request(),
            new HttpClientResponse(http),
            task -> context.runOnContext(v -> task.run()),
            (delayMillis, task) -> {
              long timer = vertx.setTimer(delayMillis, id -> task.run());
              return () -> vertx.cancelTimer(timer);
            },
            metrics,
            arrivedNanos,
            settings.exchange());
    if (!exchanges.tryAdd(exchange)) {
      ErrorResponses.send(
          http, ApiError.tooManyStreams(exchanges.maxOpen()), Exchange.ROUTE, metrics);
      return;
    }
    metrics.streamOpened();
    exchange.onReleased(
        () -> {
          exchanges.remove(exchange);
          metrics.streamClosed();
        });
    http.closeHandler(v -> exchange.onClientClosed());
    http.exceptionHandler(e -> exchange.onClientClosed());
    if (http.closed()) {
      exchange.onClientClosed(); // gone while its body was read: no close event will follow
      return;
    }
    exchange.start();
    publisher.send(
        requestId,
        record,
        result -> {
          metrics.kafkaSend(result.outcome().name().toLowerCase(Locale.ROOT));
          exchange.execute(() -> exchange.onSendResult(result));
        });
  }
}
