package dev.streamrag.gateway.http;

import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import io.vertx.core.http.HttpServerResponse;

/**
 * Sends an {@link ApiError} as the whole response: its status, the retry headers the OpenAI SDKs
 * read ({@code x-should-retry}, {@code retry-after}) and its body.
 */
final class ErrorResponses {
  static final String SHOULD_RETRY = "x-should-retry";
  static final String RETRY_AFTER = "retry-after";

  private ErrorResponses() {}

  /** Sends {@code error} unless the response is gone or began, and counts it on {@code route}. */
  static void send(
      HttpServerResponse response, ApiError error, String route, GatewayMetrics metrics) {
    metrics.request(route, error.status());
    if (response.ended() || response.closed() || response.headWritten()) {
      return;
    }
    write(response, error);
  }

  /** Writes {@code error} as the response; the caller checked that no status was sent yet. */
  static void write(HttpServerResponse response, ApiError error) {
    response.setStatusCode(error.status()).putHeader("content-type", "application/json");
    switch (error.retry()) {
      case NEVER -> response.putHeader(SHOULD_RETRY, "false");
      case SOON -> response.putHeader(SHOULD_RETRY, "true").putHeader(RETRY_AFTER, "1");
      case UNSAID -> {}
    }
    response.end(error.toJson().toString());
  }
}
