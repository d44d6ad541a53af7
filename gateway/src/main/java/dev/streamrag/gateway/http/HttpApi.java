package dev.streamrag.gateway.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.gateway.GatewayConfig;
import dev.streamrag.gateway.auth.ApiKeys;
import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
import dev.streamrag.gateway.kafka.KafkaAvailability;
import dev.streamrag.gateway.kafka.RequestPublisher;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;

/**
 * The gateway's HTTP routes: {@code POST /v1/chat/completions} and {@code GET /v1/models} behind
 * API keys, {@code GET /health} and {@code GET /metrics} open (bind to a private address). Every
 * error, including those Vert.x raises itself (413, 404, 405), is answered in OpenAI's error shape.
 */
public final class HttpApi {
  private static final String MODELS_ROUTE = "models";

  private final Vertx vertx;
  private final ApiKeys keys;
  private final List<String> models;
  private final long maxBodyBytes;
  private final KafkaAvailability kafka;
  private final GatewayMetrics metrics;
  private final ChatCompletionsHandler chat;
  private final long startedSeconds = System.currentTimeMillis() / 1000;

  public HttpApi(
      Vertx vertx,
      GatewayConfig config,
      ApiKeys keys,
      ChatRequestMapper mapper,
      ExchangeRegistry exchanges,
      RequestPublisher publisher,
      KafkaAvailability kafka,
      GatewayMetrics metrics) {
    this.vertx = vertx;
    this.keys = keys;
    this.models = config.models();
    this.maxBodyBytes = config.maxBodyBytes();
    this.kafka = kafka;
    this.metrics = metrics;
    this.chat =
        new ChatCompletionsHandler(
            vertx,
            mapper,
            exchanges,
            publisher,
            kafka,
            metrics,
            new ChatCompletionsHandler.Settings(
                config.kafka().piecesTopic(),
                config.kafka().replyPartition(),
                config.deadlineGrace().toMillis(),
                config.maxClientBufferBytes()));
  }

  /** A router for one HTTP server instance. */
  public Router router() {
    Router router = Router.router(vertx);
    ApiKeyAuthentication chatAuth = new ApiKeyAuthentication(keys, metrics, Exchange.ROUTE);
    // Authentication first: an unknown caller is refused before its body is read.
    router
        .post("/v1/chat/completions")
        .handler(chatAuth)
        .handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes))
        .handler(chat::handle);
    ApiKeyAuthentication modelsAuth = new ApiKeyAuthentication(keys, metrics, MODELS_ROUTE);
    router.get("/v1/models").handler(modelsAuth).handler(this::models);
    router.get("/health").handler(this::health);
    router.get("/metrics").handler(this::metrics);
    router.errorHandler(
        413,
        ctx ->
            ErrorResponses.send(
                ctx.response(), ApiError.bodyTooLarge(maxBodyBytes), route(ctx), metrics));
    router.errorHandler(
        404,
        ctx ->
            ErrorResponses.send(
                ctx.response(),
                ApiError.noRoute(ctx.request().method().name(), ctx.request().path()),
                "other",
                metrics));
    router.errorHandler(
        405,
        ctx ->
            ErrorResponses.send(
                ctx.response(),
                new ApiError(
                    405,
                    ApiError.INVALID_REQUEST,
                    "method_not_allowed",
                    null,
                    "Method " + ctx.request().method().name() + " is not allowed here."),
                route(ctx),
                metrics));
    router.errorHandler(
        500,
        ctx ->
            ErrorResponses.send(
                ctx.response(),
                new ApiError(
                    500,
                    ApiError.SERVER_ERROR,
                    "internal_error",
                    null,
                    "The gateway failed: " + ctx.failure()),
                route(ctx),
                metrics));
    return router;
  }

  private static String route(RoutingContext ctx) {
    return switch (ctx.request().path()) {
      case "/v1/chat/completions" -> Exchange.ROUTE;
      case "/v1/models" -> MODELS_ROUTE;
      default -> "other";
    };
  }

  private void models(RoutingContext ctx) {
    ObjectNode list = JsonNodeFactory.instance.objectNode();
    list.put("object", "list");
    ArrayNode data = list.putArray("data");
    for (String model : models) {
      data.addObject()
          .put("id", model)
          .put("object", "model")
          .put("created", startedSeconds)
          .put("owned_by", "streamrag");
    }
    metrics.request(MODELS_ROUTE, 200);
    ctx.response().putHeader("content-type", "application/json").end(list.toString());
  }

  private void health(RoutingContext ctx) {
    boolean up = kafka.available();
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("status", up ? "ok" : "unavailable");
    body.put("kafka", up ? "up" : "down");
    if (!up) {
      body.put("reason", kafka.reason());
    }
    metrics.request("health", up ? 200 : 503);
    ctx.response()
        .setStatusCode(up ? 200 : 503)
        .putHeader("content-type", "application/json")
        .end(body.toString());
  }

  private void metrics(RoutingContext ctx) {
    metrics.request("metrics", 200);
    ctx.response().putHeader("content-type", GatewayMetrics.contentType()).end(metrics.render());
  }
}
