package dev.streamrag.gateway.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.gateway.GatewayConfig;
import dev.streamrag.gateway.auth.ApiKeys;
import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
import dev.streamrag.gateway.kafka.RequestPublisher;
import dev.streamrag.gateway.logging.RateLimitedLog;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's HTTP routes: {@code POST /v1/chat/completions} and {@code GET /v1/models} behind
 * API keys; {@code GET /health} and {@code GET /metrics} without, on the API listener or on a
 * management listener of their own ({@code --management-port}), so operators can keep them private.
 * Every error, including those Vert.x raises itself (413, 404, 405, 500), is answered in OpenAI's
 * error shape with a fixed message; what went wrong inside goes to the log.
 */
public final class HttpApi {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  private static final RateLimitedLog FAILURES = new RateLimitedLog(LOG, 10_000);
  private static final String CHAT_PATH = "/v1/chat/completions";
  private static final String MODELS_PATH = "/v1/models";
  private static final String MODELS_ROUTE = "models";
  private static final String OTHER_ROUTE = "other";

  private final Vertx vertx;
  private final GatewayConfig config;
  private final ApiKeys keys;
  private final List<String> models;
  private final long maxBodyBytes;
  private final ServingState state;
  private final GatewayMetrics metrics;
  private final ChatCompletionsHandler chat;
  private final AtomicInteger openConnections = new AtomicInteger();
  private final long startedSeconds = System.currentTimeMillis() / 1000;

  public HttpApi(
      Vertx vertx,
      GatewayConfig config,
      ApiKeys keys,
      ChatRequestMapper mapper,
      ExchangeRegistry exchanges,
      RequestPublisher publisher,
      ServingState state,
      GatewayMetrics metrics) {
    this.vertx = vertx;
    this.config = config;
    this.keys = keys;
    this.models = config.models();
    this.maxBodyBytes = config.maxBodyBytes();
    this.state = state;
    this.metrics = metrics;
    this.chat =
        new ChatCompletionsHandler(
            vertx,
            mapper,
            exchanges,
            publisher,
            state,
            metrics,
            new ChatCompletionsHandler.Settings(
                config.kafka().piecesTopic(),
                config.kafka().replyPartition(),
                new Exchange.Settings(
                    config.deadlineGrace().toMillis(),
                    config.sseKeepAlive().toMillis(),
                    config.drainTimeout().toMillis(),
                    config.maxClientBufferBytes())));
  }

  /**
   * Sets up {@code server}, one API listener instance: its connection bounds and its routes (with
   * /health and /metrics unless they have a listener of their own).
   */
  public HttpServer serveApi(HttpServer server) {
    ConnectionGuard guard =
        new ConnectionGuard(
            vertx,
            openConnections,
            config.maxConnections(),
            config.idleTimeout().toMillis(),
            config.bodyTimeout().toMillis(),
            metrics,
            state,
            HttpApi::routeOf);
    return server.connectionHandler(guard::onConnection).requestHandler(apiRouter(guard));
  }

  /** Sets up {@code server} as the management listener: /health and /metrics only. */
  public HttpServer serveManagement(HttpServer server) {
    Router router = Router.router(vertx);
    addManagementRoutes(router);
    addErrorHandlers(router);
    return server.requestHandler(router);
  }

  private Router apiRouter(ConnectionGuard guard) {
    Router router = Router.router(vertx);
    router.route().handler(guard::onRequest);
    router.route(CHAT_PATH).handler(ChatCompletionsHandler::assignRequestId);
    // Authentication first: an unknown caller is refused before its body is read.
    router
        .post(CHAT_PATH)
        .handler(new ApiKeyAuthentication(keys, metrics, Exchange.ROUTE))
        .handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes))
        .handler(chat::handle);
    router
        .get(MODELS_PATH)
        .handler(new ApiKeyAuthentication(keys, metrics, MODELS_ROUTE))
        .handler(this::models);
    if (!config.separateManagement()) {
      addManagementRoutes(router);
    }
    addErrorHandlers(router);
    return router;
  }

  private void addManagementRoutes(Router router) {
    router.get("/health").handler(this::health);
    router.get("/metrics").handler(this::metrics);
  }

  private void addErrorHandlers(Router router) {
    router.errorHandler(
        413,
        ctx ->
            ErrorResponses.send(
                ctx.response(), ApiError.bodyTooLarge(maxBodyBytes), route(ctx), metrics));
    router.errorHandler(
        404, ctx -> ErrorResponses.send(ctx.response(), ApiError.noRoute(), route(ctx), metrics));
    router.errorHandler(
        405,
        ctx ->
            ErrorResponses.send(ctx.response(), ApiError.methodNotAllowed(), route(ctx), metrics));
    router.errorHandler(
        500,
        ctx -> {
          FAILURES.warn(
              "{} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
          ErrorResponses.send(ctx.response(), ApiError.internal(), route(ctx), metrics);
        });
  }

  private static String route(RoutingContext ctx) {
    return routeOf(ctx.request().path());
  }

  /** The route label of a path, from a fixed set. */
  static String routeOf(String path) {
    if (path == null) {
      return OTHER_ROUTE;
    }
    return switch (path) {
      case CHAT_PATH -> Exchange.ROUTE;
      case MODELS_PATH -> MODELS_ROUTE;
      case "/health" -> "health";
      case "/metrics" -> "metrics";
      default -> OTHER_ROUTE;
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

  /**
   * 200 while requests are taken; 503 while Kafka is unavailable or the gateway is stopping. The
   * body says which, never why: the reason (broker addresses, errors) is in the log.
   */
  private void health(RoutingContext ctx) {
    boolean kafkaUp = state.kafkaAvailable();
    boolean stopping = state.shuttingDown();
    boolean up = kafkaUp && !stopping;
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("status", stopping ? "shutting_down" : up ? "ok" : "unavailable");
    body.put("kafka", kafkaUp ? "up" : "down");
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
