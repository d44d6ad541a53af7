package dev.streamrag.bench.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Schedule;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Open-loop load through the gateway's OpenAI-compatible API, as its users' clients would send it:
 * each request of the run's schedule is POSTed at its intended time whether or not earlier ones
 * have been answered (no coordinated omission), streamed as SSE, and stamped on arrival: first
 * chunk, first text, end. Non-blocking (the JDK's HttpClient reads every stream from a few
 * threads), so hundreds of concurrent streams cost no thread each.
 *
 * <p>Receipts are keyed by the request id the gateway answers with ({@code x-request-id}), the id
 * the request and its committed response carry on Kafka.
 */
public final class HttpLoadClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final URI baseUrl;
  private final Map<String, String> apiKeys;
  private final Receipts receipts;
  private final Duration timeout;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger finished = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private String model;

  /**
   * @param baseUrl the gateway, e.g. {@code http://127.0.0.1:8080}
   * @param apiKeys each tenant's key: the gateway takes a request's tenant from its key
   * @param timeout how long one request may take before the client gives up on it
   */
  public HttpLoadClient(
      URI baseUrl, Map<String, String> apiKeys, Receipts receipts, Duration timeout) {
    this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
    if (apiKeys == null || apiKeys.isEmpty()) {
      throw new IllegalArgumentException("at least one tenant's API key is required");
    }
    this.apiKeys = Map.copyOf(apiKeys);
    this.receipts = Objects.requireNonNull(receipts, "receipts");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  /** The model the gateway serves first ({@code GET /v1/models}), which requests will name. */
  public HttpLoadClient connect() throws IOException, InterruptedException {
    HttpResponse<String> models =
        http.send(
            HttpRequest.newBuilder(baseUrl.resolve("/v1/models"))
                .header("Authorization", "Bearer " + apiKeys.values().iterator().next())
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (models.statusCode() != 200) {
      throw new IOException(
          "the gateway at " + baseUrl + " answered /v1/models with " + models.statusCode());
    }
    model = JSON.readTree(models.body()).path("data").path(0).path("id").asText(null);
    if (model == null) {
      throw new IOException("the gateway at " + baseUrl + " lists no model");
    }
    return this;
  }

  /**
   * Sends the whole schedule, each request at its time; returns when the last is sent. {@code
   * progress} hears how many were sent, now and then.
   */
  public void run(Schedule schedule, RequestFactory factory, IntConsumer progress) {
    if (model == null) {
      throw new IllegalStateException("connect() first");
    }
    long startNanos = System.nanoTime();
    long startMicros = ClientClock.nowMicros();
    long[] offsets = schedule.offsetsNanos();
    for (int i = 0; i < offsets.length; i++) {
      long due = startNanos + offsets[i];
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      long intended = startMicros + offsets[i] / 1_000;
      InferenceRequest request =
          factory.create(
              i,
              Instant.ofEpochSecond(intended / 1_000_000, (intended % 1_000_000) * 1_000),
              schedule.promptChars()[i],
              schedule.maxTokens()[i]);
      send(request, intended, i);
      if (i % 50 == 0) {
        progress.accept(i + 1);
      }
    }
    progress.accept(offsets.length);
  }

  /** Streams still open. */
  public int open() {
    return open.get();
  }

  public int finished() {
    return finished.get();
  }

  /** Requests the gateway refused or whose stream broke. */
  public int failed() {
    return failed.get();
  }

  /** Waits up to {@code grace} for every stream to end. */
  public boolean awaitIdle(Duration grace) throws InterruptedException {
    long deadline = System.nanoTime() + grace.toNanos();
    while (open.get() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    return open.get() == 0;
  }

  private void send(InferenceRequest request, long intendedMicros, int index) {
    String apiKey = apiKeys.get(request.getTenantId());
    if (apiKey == null) {
      Receipt receipt = receipts.of("client-" + index);
      receipt.sent(intendedMicros);
      receipt.failed(
          ClientClock.nowMicros(), "REJECTED", "no API key for tenant " + request.getTenantId());
      failed.incrementAndGet();
      return;
    }
    HttpRequest http =
        HttpRequest.newBuilder(baseUrl.resolve("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream")
            .header("Authorization", "Bearer " + apiKey)
            .timeout(timeout)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body(request)))
            .build();
    open.incrementAndGet();
    Stream stream = new Stream(intendedMicros, "client-" + index);
    CompletableFuture<HttpResponse<String>> exchange =
        this.http.sendAsync(
            http,
            info -> {
              stream.start(info);
              return info.statusCode() == 200
                  ? HttpResponse.BodySubscribers.mapping(
                      HttpResponse.BodySubscribers.fromLineSubscriber(stream), ignored -> "")
                  : HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8);
            });
    exchange
        .orTimeout(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS)
        .whenComplete(
            (response, error) -> {
              long now = ClientClock.nowMicros();
              Receipt receipt = stream.receipt();
              if (error != null) {
                receipt.failed(now, "ERROR", "client: " + error);
                failed.incrementAndGet();
              } else if (response.statusCode() != 200) {
                receipt.failed(
                    now,
                    status(response.statusCode()),
                    response.statusCode() + " " + response.body());
                failed.incrementAndGet();
              } else if (receipt.endMicros() == 0) {
                receipt.failed(now, "ERROR", "the stream ended without [DONE]");
                failed.incrementAndGet();
              } else {
                finished.incrementAndGet();
              }
              open.decrementAndGet();
            });
  }

  private static String status(int httpStatus) {
    return switch (httpStatus) {
      case 400, 404, 413, 429 -> "REJECTED";
      case 504 -> "TIMEOUT";
      default -> "ERROR";
    };
  }

  /** An OpenAI chat completion request for {@code request}, with the streamrag extension. */
  byte[] body(InferenceRequest request) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    var messages = body.putArray("messages");
    for (ChatMessage message : request.getMessages()) {
      messages
          .addObject()
          .put("role", message.getRole().name().toLowerCase(Locale.ROOT))
          .put("content", message.getContent());
    }
    if (request.getMaxTokens() != null) {
      body.put("max_tokens", request.getMaxTokens());
    }
    if (request.getTemperature() != null) {
      body.put("temperature", request.getTemperature());
    }
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    ObjectNode metadata = body.putObject("metadata");
    request.getAttributes().forEach(metadata::put);
    ObjectNode extension = body.putObject("streamrag");
    extension.put("kind", request.getKind().name());
    if (request.getKind() == RequestKind.RAG && request.getRetrieval() != null) {
      extension.putObject("retrieval").put("top_k", request.getRetrieval().getTopK());
    }
    if (request.getDeadline() != null && request.getCreatedAt() != null) {
      extension.put(
          "timeout_ms",
          request.getDeadline().toEpochMilli() - request.getCreatedAt().toEpochMilli());
    }
    try {
      return JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }

  /** One SSE stream: OpenAI chunks, text accumulated, stamped as lines arrive. */
  private final class Stream implements Flow.Subscriber<String> {
    private final long intendedMicros;
    private final String fallbackId;
    private final StringBuilder text = new StringBuilder();
    private volatile Receipt receipt;
    private String status = "OK";

    Stream(long intendedMicros, String fallbackId) {
      this.intendedMicros = intendedMicros;
      this.fallbackId = fallbackId;
    }

    void start(HttpResponse.ResponseInfo info) {
      String id = info.headers().firstValue("x-request-id").orElse(fallbackId);
      Receipt r = receipts.of(id);
      r.sent(intendedMicros);
      receipt = r;
    }

    Receipt receipt() {
      Receipt r = receipt;
      if (r == null) { // no response at all: keep what happened under the client's own id
        r = receipts.of(fallbackId);
        r.sent(intendedMicros);
        receipt = r;
      }
      return r;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (!line.startsWith("data:")) {
        return;
      }
      long now = ClientClock.nowMicros();
      String data = line.substring(5).strip();
      Receipt r = receipt();
      if (data.equals("[DONE]")) {
        r.end(now, status, text.toString());
        return;
      }
      r.piece(now);
      r.chunk();
      try {
        JsonNode chunk = JSON.readTree(data);
        if (chunk.has("error")) {
          status = "ERROR";
          r.failed(now, status, chunk.path("error").path("message").asText());
          return;
        }
        String content = chunk.path("choices").path(0).path("delta").path("content").asText("");
        if (!content.isEmpty()) {
          r.text(now);
          text.append(content);
        }
        JsonNode extension = chunk.path("streamrag").path("status");
        if (extension.isTextual()) {
          status = extension.asText();
        }
      } catch (IOException e) {
        r.failed(now, "ERROR", "unreadable chunk: " + e.getMessage());
      }
    }

    @Override
    public void onError(Throwable error) {
      receipt().failed(ClientClock.nowMicros(), "ERROR", "stream broke: " + error);
    }

    @Override
    public void onComplete() {}
  }
}
