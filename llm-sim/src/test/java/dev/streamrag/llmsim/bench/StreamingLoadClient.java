package dev.streamrag.llmsim.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.parsetools.RecordParser;
import java.util.concurrent.CompletableFuture;

/**
 * The benchmark's load generator: many concurrent streaming completions on one Vert.x event loop of
 * its own, each timestamping its token chunks as they arrive. It shares a 2-core box with the
 * server under test, so it must be cheap: the JDK's {@code HttpClient} spent most of the CPU in an
 * earlier version (a thread pool, a line subscriber per stream) and delayed the server's own event
 * loops.
 */
final class StreamingLoadClient implements AutoCloseable {
  private static final String ID_PREFIX = "data: {\"id\":\"";

  /** Client-side times of one stream, with the completion id the server gave it. */
  record Measured(String id, long sentNanos, long firstReadNanos, long lastReadNanos, int tokens) {}

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
  private final HttpClientAgent http;
  private final int port;

  StreamingLoadClient(int port, int maxConnections) {
    this.port = port;
    this.http =
        vertx.createHttpClient(
            new HttpClientOptions().setTcpNoDelay(true),
            new PoolOptions().setHttp1MaxSize(maxConnections).setMaxWaitQueueSize(-1));
  }

  /** One streaming chat completion of exactly {@code outputTokens} tokens. */
  CompletableFuture<Measured> stream(String model, String content, int outputTokens) {
    String body =
        "{\"model\":\""
            + model
            + "\",\"stream\":true,\"min_tokens\":"
            + outputTokens
            + ",\"max_tokens\":"
            + outputTokens
            + ",\"messages\":[{\"role\":\"user\",\"content\":\""
            + content
            + "\"}]}";
    long sent = System.nanoTime();
    TokenTimer timer = new TokenTimer();
    Future<Measured> result =
        http.request(HttpMethod.POST, port, "127.0.0.1", "/v1/chat/completions")
            .compose(
                request ->
                    request
                        .putHeader("content-type", "application/json")
                        .send(Buffer.buffer(body))
                        .compose(
                            response -> {
                              if (response.statusCode() != 200) {
                                return Future.failedFuture(
                                    "stream failed: HTTP " + response.statusCode());
                              }
                              // SSE events end with a blank line.
                              response.handler(RecordParser.newDelimited("\n\n", timer::onEvent));
                              return response.end();
                            }))
            .map(
                done -> {
                  if (timer.tokens == 0) {
                    throw new IllegalStateException("stream ended without tokens");
                  }
                  return new Measured(
                      timer.id, sent, timer.firstNanos, timer.lastNanos, timer.tokens);
                });
    return result.toCompletionStage().toCompletableFuture();
  }

  /** Timestamps token events; runs on the client's event loop. */
  private static final class TokenTimer {
    String id;
    long firstNanos;
    long lastNanos;
    int tokens;

    void onEvent(Buffer event) {
      long now = System.nanoTime();
      String line = event.toString();
      if (id == null && line.startsWith(ID_PREFIX)) {
        id = line.substring(ID_PREFIX.length(), line.indexOf('"', ID_PREFIX.length()));
      }
      if (line.startsWith("data: {")
          && line.contains("\"content\":\"")
          && !line.contains("\"role\"")) {
        if (tokens++ == 0) {
          firstNanos = now;
        }
        lastNanos = now;
      }
    }
  }

  @Override
  public void close() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}
