package dev.streamrag.gateway.http;

import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.ConnectionClose;
import dev.streamrag.gateway.openai.ApiError;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Bounds what clients can hold of one HTTP server: how many connections are open (over {@code
 * maxConnections}, a new one is closed at once), how long a connection may sit without a request in
 * progress ({@code idleMillis}, which also covers headers trickled in slowly), and how long a
 * request's body may take to arrive once its headers did ({@code bodyMillis}: 408, then the
 * connection is closed).
 *
 * <p>Why not Vert.x's idle timeouts: they see bytes, not requests. A chat completion legitimately
 * sends nothing while it waits for its first token (its status is held back so that a refusal can
 * still be an HTTP error), and a read-idle timer would cut every response that takes long. Here the
 * idle timer runs only while no request is in progress; a request in progress is bounded by its own
 * deadline, and a stream by its keep-alives and drain timeout.
 *
 * <p>One instance per HTTP server; its connections' events all run on that server's event loop, so
 * the per-connection state needs no locks. The connection count is shared by all instances.
 */
final class ConnectionGuard {
  private final Vertx vertx;
  private final AtomicInteger openConnections;
  private final int maxConnections;
  private final long idleMillis;
  private final long bodyMillis;
  private final GatewayMetrics metrics;
  private final ServingState state;
  private final UnaryOperator<String> routeOfPath;
  private final Map<HttpConnection, Connection> connections = new HashMap<>();

  /** One open connection. */
  private final class Connection {
    final HttpConnection http;
    int activeRequests;
    long idleTimer = -1;

    Connection(HttpConnection http) {
      this.http = http;
    }

    void armIdle() {
      cancelIdle();
      idleTimer =
          vertx.setTimer(
              idleMillis,
              id -> {
                idleTimer = -1;
                if (activeRequests == 0) {
                  metrics.connectionClosedBy(ConnectionClose.IDLE);
                  http.close();
                }
              });
    }

    void cancelIdle() {
      if (idleTimer >= 0) {
        vertx.cancelTimer(idleTimer);
        idleTimer = -1;
      }
    }
  }

  ConnectionGuard(
      Vertx vertx,
      AtomicInteger openConnections,
      int maxConnections,
      long idleMillis,
      long bodyMillis,
      GatewayMetrics metrics,
      ServingState state,
      UnaryOperator<String> routeOfPath) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.openConnections = Objects.requireNonNull(openConnections, "openConnections");
    this.maxConnections = maxConnections;
    this.idleMillis = idleMillis;
    this.bodyMillis = bodyMillis;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.state = Objects.requireNonNull(state, "state");
    this.routeOfPath = Objects.requireNonNull(routeOfPath, "routeOfPath");
  }

  /** A new connection: admitted and watched for idleness, or closed when there are too many. */
  void onConnection(HttpConnection http) {
    if (openConnections.incrementAndGet() > maxConnections) {
      openConnections.decrementAndGet();
      metrics.connectionClosedBy(ConnectionClose.OVER_LIMIT);
      http.close();
      return;
    }
    metrics.connectionOpened();
    Connection connection = new Connection(http);
    connections.put(http, connection);
    http.closeHandler(
        v -> {
          if (connections.remove(http) != null) {
            connection.cancelIdle();
            openConnections.decrementAndGet();
            metrics.connectionClosed();
          }
        });
    connection.armIdle();
  }

  /** The first handler of every route: a request began on its connection. */
  void onRequest(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    Connection connection = connections.get(request.connection());
    if (connection != null) {
      connection.activeRequests++;
      connection.cancelIdle();
      ctx.addEndHandler(
          ended -> {
            connection.activeRequests--;
            if (connection.activeRequests == 0 && connections.containsKey(connection.http)) {
              connection.armIdle();
            }
          });
    }
    if (!request.isEnded()) {
      vertx.setTimer(bodyMillis, id -> bodyTimedOut(request));
    }
    if (state.shuttingDown()) {
      // Keep-alive clients would come back here; make them open a connection elsewhere.
      ctx.response().putHeader("connection", "close");
    }
    ctx.next();
  }

  private void bodyTimedOut(HttpServerRequest request) {
    if (request.isEnded()) {
      return;
    }
    metrics.connectionClosedBy(ConnectionClose.BODY_TIMEOUT);
    HttpServerResponse response = request.response();
    if (!response.ended() && !response.closed() && !response.headWritten()) {
      response.putHeader("connection", "close");
      ErrorResponses.send(
          response, ApiError.bodyTimeout(bodyMillis), routeOfPath.apply(request.path()), metrics);
    }
    request.connection().close();
  }
}
