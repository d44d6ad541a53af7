package dev.streamrag.jobs.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ToolCall;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A non-blocking, streaming client of OpenAI-compatible chat completions ({@code POST
 * {base}/v1/chat/completions} with {@code stream: true}), as served by vLLM and llm-sim.
 *
 * <p>It is written on the JDK's {@link HttpClient} rather than on an OpenAI SDK because the SDKs'
 * asynchronous streaming parks one thread per open stream, while this reads every stream from a few
 * shared threads; the SSE framing it needs is a dozen lines. Cancelling the returned future closes
 * the connection, which makes vLLM abort the generation and free its KV cache.
 *
 * <p>An attempt may be given a first-token timeout and an idle timeout between tokens; when one
 * expires the stream is cancelled and fails with {@link LlmCallException#STREAM_IDLE}. One daemon
 * timer thread (ended after 30 s idle) watches every stream. {@link #close()} cancels every stream
 * in flight (each fails with a {@link java.util.concurrent.CancellationException}) and stops the
 * timer thread; a closed client fails new streams at once with {@link LlmCallException#CANCELLED}.
 */
public final class StreamingChatClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final AtomicInteger CLIENTS = new AtomicInteger();

  private final HttpClient http;
  private final String apiKey;
  private final ScheduledThreadPoolExecutor timers;
  private final Set<CompletableFuture<ChatCompletion>> inFlight = ConcurrentHashMap.newKeySet();
  private final AtomicLong firstTokenTimeouts = new AtomicLong();
  private final AtomicLong idleTimeouts = new AtomicLong();
  private volatile boolean closed;

  private StreamingChatClient(Builder builder) {
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(builder.connectTimeout)
            .build();
    this.apiKey = builder.apiKey;
    String name = "llm-client-timers-" + CLIENTS.incrementAndGet();
    this.timers =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread thread = new Thread(runnable, name);
              thread.setDaemon(true);
              return thread;
            });
    timers.setRemoveOnCancelPolicy(true);
    // An idle timer thread ends, so a client nobody closed does not keep a thread forever.
    timers.setKeepAliveTime(30, TimeUnit.SECONDS);
    timers.allowCoreThreadTimeOut(true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a client; {@link #build()} checks every setting. */
  public static final class Builder {
    private Duration connectTimeout = Duration.ofSeconds(2);
    private String apiKey;

    /** Longest to wait for a TCP connection (default 2 s). */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
      return this;
    }

    /** Sent as {@code Authorization: Bearer ...} when set (vLLM's {@code --api-key}). */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
      return this;
    }

    public StreamingChatClient build() {
      Objects.requireNonNull(connectTimeout, "connectTimeout is required but not provided.");
      if (connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("connectTimeout must be positive");
      }
      return new StreamingChatClient(this);
    }
  }

  /**
   * Streams {@code call} from the server at {@code baseUrl} (e.g. {@code http://host:8000}). The
   * future fails with an {@link LlmCallException}; cancelling it stops the stream.
   */
  public CompletableFuture<ChatCompletion> stream(URI baseUrl, ChatCall call) {
    return stream(baseUrl, call, TextListener.NONE);
  }

  /**
   * As {@link #stream(URI, ChatCall)}, telling {@code listener} of each content delta as it
   * arrives.
   */
  public CompletableFuture<ChatCompletion> stream(
      URI baseUrl, ChatCall call, TextListener listener) {
    return stream(baseUrl, call, listener, Duration.ZERO, Duration.ZERO);
  }

  /**
   * As {@link #stream(URI, ChatCall, TextListener)}, failing with {@link
   * LlmCallException#STREAM_IDLE} (retryable) when no first token (content delta) comes within
   * {@code firstTokenTimeout} of sending, response headers included, or no token within {@code
   * idleTimeout} of the last one. A zero duration sets no limit.
   */
  public CompletableFuture<ChatCompletion> stream(
      URI baseUrl,
      ChatCall call,
      TextListener listener,
      Duration firstTokenTimeout,
      Duration idleTimeout) {
    Objects.requireNonNull(firstTokenTimeout, "firstTokenTimeout");
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    if (closed) {
      return CompletableFuture.failedFuture(
          new LlmCallException(LlmCallException.CANCELLED, "the LLM client is closed", true));
    }
    HttpRequest.Builder request =
        HttpRequest.newBuilder(completionsUri(baseUrl))
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body(call)));
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    long sent = System.nanoTime();
    SseChatParser parser = new SseChatParser(sent, listener);
    CompletableFuture<HttpResponse<String>> exchange =
        http.sendAsync(
            request.build(),
            info ->
                info.statusCode() == 200
                    ? BodySubscribers.mapping(
                        BodySubscribers.fromLineSubscriber(parser), ignored -> (String) null)
                    : BodySubscribers.ofString(StandardCharsets.UTF_8));
    CompletableFuture<ChatCompletion> result =
        exchange
            .handle(
                (response, error) -> {
                  if (error != null) {
                    return CompletableFuture.<ChatCompletion>failedFuture(connectionFailure(error));
                  }
                  if (response.statusCode() != 200) {
                    Duration retryAfter =
                        LlmCallException.parseRetryAfter(
                            response.headers().firstValue("Retry-After").orElse(null),
                            Instant.now());
                    return CompletableFuture.<ChatCompletion>failedFuture(
                        LlmCallException.http(response.statusCode(), response.body(), retryAfter));
                  }
                  return parser.result();
                })
            .thenCompose(f -> f);
    inFlight.add(result);
    IdleWatch watch =
        firstTokenTimeout.isZero() && idleTimeout.isZero()
            ? null
            : new IdleWatch(parser, result, sent, firstTokenTimeout, idleTimeout);
    result.whenComplete(
        (ok, error) -> {
          inFlight.remove(result);
          if (watch != null) {
            watch.stop();
          }
          if (error != null) { // cancelled, timed out or failed: stop reading
            parser.cancel();
            exchange.cancel(true);
          }
        });
    if (watch != null) {
      watch.start();
    }
    if (closed) { // closed while this stream started
      result.cancel(true);
    }
    return result;
  }

  /**
   * Fails a stream whose first token or next token is late. It runs on the timer thread when the
   * next limit falls due and re-arms itself for the next, so an attempt costs one timer task.
   */
  private final class IdleWatch implements Runnable {
    private final SseChatParser parser;
    private final CompletableFuture<ChatCompletion> result;
    private final long sentNanos;
    private final long firstTokenNanos;
    private final long idleNanos;
    private volatile ScheduledFuture<?> pending;

    IdleWatch(
        SseChatParser parser,
        CompletableFuture<ChatCompletion> result,
        long sentNanos,
        Duration firstTokenTimeout,
        Duration idleTimeout) {
      this.parser = parser;
      this.result = result;
      this.sentNanos = sentNanos;
      this.firstTokenNanos = firstTokenTimeout.toNanos();
      this.idleNanos = idleTimeout.toNanos();
    }

    void start() {
      arm(firstTokenNanos > 0 ? firstTokenNanos : idleNanos);
    }

    void stop() {
      ScheduledFuture<?> current = pending;
      if (current != null) {
        current.cancel(false);
      }
    }

    private void arm(long delayNanos) {
      if (result.isDone()) {
        return;
      }
      try {
        pending = timers.schedule(this, Math.max(delayNanos, 0), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) { // closed meanwhile
        result.cancel(true);
      }
    }

    @Override
    public void run() {
      if (result.isDone()) {
        return;
      }
      long now = System.nanoTime();
      long last = parser.lastTokenNanos();
      if (last == 0) {
        if (firstTokenNanos <= 0) {
          arm(idleNanos); // no first-token limit: look again later
        } else if (now - sentNanos >= firstTokenNanos) {
          fail(firstTokenTimeouts, "no first token within " + millis(firstTokenNanos));
        } else {
          arm(sentNanos + firstTokenNanos - now);
        }
      } else if (idleNanos > 0) {
        if (now - last >= idleNanos) {
          fail(
              idleTimeouts,
              "no token for "
                  + millis(idleNanos)
                  + " after "
                  + parser.tokensSoFar()
                  + " tokens (the stream stalled)");
        } else {
          arm(last + idleNanos - now);
        }
      }
    }

    private void fail(AtomicLong counter, String message) {
      // Counted first: completing runs the caller's callbacks, which may read the counter.
      counter.incrementAndGet();
      if (!result.completeExceptionally(
          new LlmCallException(LlmCallException.STREAM_IDLE, message, true))) {
        counter.decrementAndGet(); // the stream ended meanwhile
      }
    }
  }

  private static String millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos) + " ms";
  }

  /** Streams cancelled because no first token came in time, since this client was built. */
  public long firstTokenTimeouts() {
    return firstTokenTimeouts.get();
  }

  /** Streams cancelled because they went idle after their first token. */
  public long idleTimeouts() {
    return idleTimeouts.get();
  }

  /** Streams open now. */
  public int inFlight() {
    return inFlight.size();
  }

  /** The client's timer thread, for callers' retry timers; it ends on {@link #close()}. */
  ScheduledExecutorService timers() {
    return timers;
  }

  private static LlmCallException connectionFailure(Throwable error) {
    Throwable cause = unwrap(error);
    if (cause instanceof LlmCallException known) {
      return known;
    }
    String code =
        cause instanceof HttpConnectTimeoutException || cause instanceof ConnectException
            ? "llm.connection"
            : "llm.stream";
    return new LlmCallException(code, describe(cause), true);
  }

  static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  static String describe(Throwable error) {
    Throwable cause = unwrap(error);
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  static byte[] body(ChatCall call) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", call.model());
    ArrayNode messages = body.putArray("messages");
    for (ChatMessage message : call.messages()) {
      ObjectNode m = messages.addObject();
      m.put("role", message.getRole().name().toLowerCase(Locale.ROOT));
      m.put("content", message.getContent());
      if (message.getName() != null) {
        m.put("name", message.getName());
      }
      if (message.getToolCallId() != null) {
        m.put("tool_call_id", message.getToolCallId());
      }
      if (!message.getToolCalls().isEmpty()) {
        ArrayNode calls = m.putArray("tool_calls");
        for (ToolCall toolCall : message.getToolCalls()) {
          ObjectNode c = calls.addObject();
          c.put("id", toolCall.getId());
          c.put("type", "function");
          c.putObject("function")
              .put("name", toolCall.getName())
              .put("arguments", toolCall.getArguments());
        }
      }
    }
    if (!call.tools().isEmpty()) {
      ArrayNode tools = body.putArray("tools");
      for (ToolDefinition tool : call.tools()) {
        ObjectNode function = tools.addObject().put("type", "function").putObject("function");
        function.put("name", tool.name());
        function.put("description", tool.description());
        function.set("parameters", parameters(tool));
      }
    }
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    if (call.maxTokens() != null) {
      body.put("max_tokens", call.maxTokens());
    }
    if (call.temperature() != null) {
      body.put("temperature", call.temperature());
    }
    if (call.topP() != null) {
      body.put("top_p", call.topP());
    }
    if (call.seed() != null) {
      body.put("seed", call.seed());
    }
    if (call.ignoreEos()) {
      body.put("ignore_eos", true);
    }
    if (!call.stop().isEmpty()) {
      ArrayNode stop = body.putArray("stop");
      call.stop().forEach(stop::add);
    }
    try {
      return JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }

  private static JsonNode parameters(ToolDefinition tool) {
    try {
      return JSON.readTree(tool.parametersJson());
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "tool " + tool.name() + ": its parameters are not JSON: " + e.getMessage(), e);
    }
  }

  /**
   * Cancels every stream in flight (closing its connection, so the server aborts the generation)
   * and stops the timer thread. HttpClient.close() exists from Java 21; before that its selector
   * thread ends once the client is unreachable, which nothing in flight then prevents.
   */
  @Override
  public void close() {
    closed = true;
    for (CompletableFuture<ChatCompletion> stream : List.copyOf(inFlight)) {
      stream.cancel(true);
    }
    timers.shutdownNow();
  }

  /**
   * Where chat completions are posted for a base URL: {@code http://vllm:8000} gives {@code
   * /v1/chat/completions}; a base that already ends in {@code /v1}, as OpenAI clients take it
   * ({@code https://gw.example.com/openai/v1}), gives {@code /openai/v1/chat/completions}. A path
   * prefix is kept either way: a gateway in front of the LLM may serve it under one.
   */
  static URI completionsUri(URI baseUrl) {
    String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    String suffix = path.endsWith("/v1") ? "/chat/completions" : "/v1/chat/completions";
    return baseUrl.resolve(path + suffix);
  }
}
