package dev.streamrag.jobs.llm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.ChatMessage;
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
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A non-blocking, streaming client of OpenAI-compatible chat completions ({@code POST
 * {base}/v1/chat/completions} with {@code stream: true}), as served by vLLM and llm-sim.
 *
 * <p>It is written on the JDK's {@link HttpClient} rather than on an OpenAI SDK because the SDKs'
 * asynchronous streaming parks one thread per open stream, while this reads every stream from a few
 * shared threads; the SSE framing it needs is a dozen lines. Cancelling the returned future closes
 * the connection, which makes vLLM abort the generation and free its KV cache.
 */
public final class StreamingChatClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final String apiKey;

  private StreamingChatClient(Builder builder) {
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(builder.connectTimeout)
            .build();
    this.apiKey = builder.apiKey;
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
    HttpRequest.Builder request =
        HttpRequest.newBuilder(baseUrl.resolve("/v1/chat/completions"))
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
                    return CompletableFuture.<ChatCompletion>failedFuture(
                        LlmCallException.http(response.statusCode(), response.body()));
                  }
                  return parser.result();
                })
            .thenCompose(f -> f);
    result.whenComplete(
        (ok, error) -> {
          if (error != null) { // cancelled, timed out or failed: stop reading
            parser.cancel();
            exchange.cancel(true);
          }
        });
    return result;
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

  @Override
  public void close() {
    // HttpClient.close() exists from Java 21; before that its threads end when it is unreachable.
  }
}
