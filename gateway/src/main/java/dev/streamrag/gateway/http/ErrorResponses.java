package dev.streamrag.gateway.http;

import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import io.vertx.core.http.HttpServerResponse;

/** Sends an {@link ApiError} as the whole response, and counts it. */
final class ErrorResponses {
  private ErrorResponses() {}

  static void send(
      HttpServerResponse response, ApiError error, String route, GatewayMetrics metrics) {
    metrics.request(route, error.status());
    if (response.ended() || response.closed()) {
      return;
    }
    response
        .setStatusCode(error.status())
        .putHeader("content-type", "application/json")
        .end(error.toJson().toString());
  }
}
