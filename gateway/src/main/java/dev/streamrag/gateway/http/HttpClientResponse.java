package dev.streamrag.gateway.http;

import dev.streamrag.gateway.exchange.ClientResponse;
import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.openai.ApiError;
import io.vertx.core.http.HttpServerResponse;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A {@link ClientResponse} on a Vert.x HTTP response. Every call ignores a closed connection. */
final class HttpClientResponse implements ClientResponse {
  private static final Logger LOG = LoggerFactory.getLogger(HttpClientResponse.class);

  private final HttpServerResponse response;

  HttpClientResponse(HttpServerResponse response) {
    this.response = Objects.requireNonNull(response, "response");
  }

  private boolean gone() {
    return response.ended() || response.closed();
  }

  /**
   * Whether a status may still be set. It may not once the head was written; {@link Exchange} never
   * asks then, and if a bug did, the connection is reset rather than the response corrupted.
   */
  private boolean statusStillOpen() {
    if (!response.headWritten()) {
      return true;
    }
    LOG.error("A status was set after the response began; resetting the connection");
    response.reset();
    return false;
  }

  @Override
  public void sendJson(String json) {
    if (gone() || !statusStillOpen()) {
      return;
    }
    response.setStatusCode(200).putHeader("content-type", "application/json").end(json);
  }

  @Override
  public void sendError(ApiError error) {
    if (gone() || !statusStillOpen()) {
      return;
    }
    ErrorResponses.write(response, error);
  }

  @Override
  public void beginEventStream() {
    if (gone() || !statusStillOpen()) {
      return;
    }
    response
        .setStatusCode(200)
        .setChunked(true)
        .putHeader("content-type", "text/event-stream")
        .putHeader("cache-control", "no-cache")
        // nginx buffers proxied responses unless told not to; an event stream must flow.
        .putHeader("x-accel-buffering", "no");
  }

  @Override
  public boolean writeQueueFull() {
    return !gone() && response.writeQueueFull();
  }

  @Override
  public void drainHandler(Runnable onDrain) {
    response.drainHandler(v -> onDrain.run());
  }

  @Override
  public void write(String data) {
    if (!gone()) {
      response.write(data);
    }
  }

  @Override
  public void end(String data) {
    if (!gone()) {
      response.end(data);
    }
  }

  @Override
  public void abort() {
    if (!gone()) {
      response.reset();
    }
  }
}
