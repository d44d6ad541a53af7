package dev.streamrag.gateway.exchange;

import io.vertx.core.http.HttpServerResponse;
import java.util.Objects;

/** A {@link ClientResponse} on a Vert.x HTTP response. Every call ignores a closed connection. */
public final class HttpClientResponse implements ClientResponse {
  private final HttpServerResponse response;

  public HttpClientResponse(HttpServerResponse response) {
    this.response = Objects.requireNonNull(response, "response");
  }

  private boolean gone() {
    return response.ended() || response.closed();
  }

  @Override
  public void sendJson(int status, String json) {
    if (gone()) {
      return;
    }
    response.setStatusCode(status).putHeader("content-type", "application/json").end(json);
  }

  @Override
  public void beginEventStream() {
    if (gone()) {
      return;
    }
    response
        .setStatusCode(200)
        .setChunked(true)
        .putHeader("content-type", "text/event-stream")
        .putHeader("cache-control", "no-cache");
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
