package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.errors.SseException;
import com.openai.errors.UnauthorizedException;
import com.openai.errors.UnexpectedStatusCodeException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.ConnectionClose;
import dev.streamrag.gateway.metrics.GatewayMetrics.PieceOutcome;
import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.GatewayServer;
import dev.streamrag.testsupport.Ports;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gateway against a real Kafka broker, spoken to with the official openai-java client.
 *
 * <p>The inference job's side is a {@link ScriptedInferenceJob}: it reads the request the gateway
 * produced and writes the pieces a job would write for it. That scripted responder is deliberate:
 * it is the only way to provoke, on demand, the contract cases the gateway must survive (replays,
 * gaps, a restarted and a stale generation, another gateway's pieces on the same partition, an END
 * that never comes). The end-to-end test with the real Flink inference job is in devstack, using
 * {@link GatewayServer}.
 *
 * <p>Each test tags its requests with its name (OpenAI {@code metadata}, which becomes a request
 * attribute) and the responder hands it only requests with its tag; after each test, no request
 * with its tag may be left over.
 */
@Timeout(180)
class GatewayIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private static final String REQUESTS = "gateway-it.requests";
  private static final String PIECES = "gateway-it.pieces";
  private static final String KEY = "sk-acme-test-0123456789";
  private static final String TENANT = "acme";
  private static final String MODEL = "sim-model";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static Gateway gateway;
  private static ScriptedInferenceJob job;
  private static OpenAIClient client;

  private String tag;

  @BeforeAll
  static void start() throws Exception {
    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers());
    try (Admin kafka = Admin.create(admin)) {
      kafka
          .createTopics(
              List.of(new NewTopic(REQUESTS, 2, (short) 1), new NewTopic(PIECES, 3, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    job = new ScriptedInferenceJob(KAFKA.bootstrapServers(), REQUESTS);
    gateway = Gateway.start(config(1).build());
    client = client(gateway.baseUrl(), KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (job != null) {
      job.close();
    }
  }

  @BeforeEach
  void tagRequests(TestInfo test) {
    tag = test.getTestMethod().orElseThrow().getName();
  }

  @AfterEach
  void noRequestOfThisTestIsLeftOver() {
    assertThat(job.unclaimed(tag)).as("requests of %s nobody took", tag).isEmpty();
  }

  private static GatewayConfig.Builder config(int replyPartition) {
    return GatewayConfig.builder()
        .bootstrapServers(KAFKA.bootstrapServers())
        .requestsTopic(REQUESTS)
        .piecesTopic(PIECES)
        .replyPartition(replyPartition)
        .port(0)
        .eventLoops(2)
        .addApiKey(KEY, TENANT)
        .addApiKey("sk-globex-test-0123456789", "globex")
        .models(List.of(MODEL))
        .deadlineGrace(Duration.ofMillis(300))
        .healthInterval(Duration.ofMillis(500));
  }

  /** An OpenAI client for try-with-resources (OpenAIClient itself is not AutoCloseable). */
  private record ClosingClient(OpenAIClient api) implements AutoCloseable {
    @Override
    public void close() {
      api.close();
    }
  }

  /** A client that does not retry, so each call is one request. */
  private static OpenAIClient client(String baseUrl, String key) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(baseUrl + "/v1")
        .apiKey(key)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  /** A client with the SDK's default retries, as users have it. */
  private static OpenAIClient defaultClient(String baseUrl, String key) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(baseUrl + "/v1")
        .apiKey(key)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private ChatCompletionCreateParams.Metadata metadata(Map<String, String> more) {
    ChatCompletionCreateParams.Metadata.Builder metadata =
        ChatCompletionCreateParams.Metadata.builder()
            .putAdditionalProperty(ScriptedInferenceJob.TAG, JsonValue.from(tag));
    more.forEach((key, value) -> metadata.putAdditionalProperty(key, JsonValue.from(value)));
    return metadata.build();
  }

  private ChatCompletionCreateParams.Builder question() {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addSystemMessage("Answer from the context.")
        .addUserMessage("How long is the Quillon River?")
        .maxCompletionTokens(64)
        .metadata(metadata(Map.of()));
  }

  /** A raw chat completion body, tagged, with {@code extra} fields added. */
  private String body(boolean stream, String extra) {
    return "{\"model\":\""
        + MODEL
        + "\",\"stream\":"
        + stream
        + ",\"metadata\":{\"test\":\""
        + tag
        + "\"},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
        + (extra.isEmpty() ? "" : "," + extra)
        + "}";
  }

  private static CompletableFuture<List<ChatCompletionChunk>> streamInBackground(
      OpenAIClient api, ChatCompletionCreateParams params) {
    return CompletableFuture.supplyAsync(
        () -> {
          List<ChatCompletionChunk> chunks = new ArrayList<>();
          try (StreamResponse<ChatCompletionChunk> stream =
              api.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunks::add);
          }
          return chunks;
        });
  }

  private static CompletableFuture<ChatCompletion> askInBackground(
      OpenAIClient api, ChatCompletionCreateParams params) {
    return CompletableFuture.supplyAsync(() -> api.chat().completions().create(params));
  }

  private static String text(List<ChatCompletionChunk> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(
        chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
    return text.toString();
  }

  private static String content(ChatCompletion completion) {
    return completion.choices().get(0).message().content().orElseThrow();
  }

  private static Throwable failureOf(CompletableFuture<?> future) {
    assertThatThrownBy(() -> future.get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class);
    return future
        .handle((value, error) -> error.getCause() != null ? error.getCause() : error)
        .join();
  }

  private static void awaitTrue(String what, BooleanSupplier condition) throws Exception {
    awaitTrue(what, Duration.ofSeconds(15), condition);
  }

  private static void awaitTrue(String what, Duration wait, BooleanSupplier condition)
      throws Exception {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + wait.toSeconds() + " s: " + what);
      }
      Thread.sleep(20);
    }
  }

  private static double kafkaSends(GatewayMetrics metrics) {
    return Stream.of("sent", "refused", "uncertain").mapToDouble(metrics::kafkaSends).sum();
  }

  // user and seed are deprecated in OpenAI's API, yet clients still send them and the gateway maps
  // them; _additionalProperties() is how openai-java exposes the streamrag extension.
  @SuppressWarnings("deprecation")
  @Test
  void streamedAnswerWithUsageAndTheExtension() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream =
        streamInBackground(
            client,
            question()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .metadata(metadata(Map.of("session", "s-42")))
                .user("user-7")
                .temperature(0.0)
                .seed(7)
                .putAdditionalBodyProperty(
                    "streamrag",
                    JsonValue.from(
                        Map.of(
                            "kind", "rag",
                            "cache_mode", "bypass",
                            "retrieval", Map.of("top_k", 3, "index", "docs"))))
                .build());

    InferenceRequest request = job.nextRequest(tag);
    assertThat(request.getRequestId()).startsWith("gw-");
    assertThat(request.getTenantId()).as("the key's tenant").isEqualTo(TENANT);
    assertThat(request.getReplyTo().getTopic()).isEqualTo(PIECES);
    assertThat(request.getReplyTo().getPartition()).isEqualTo(1);
    assertThat(request.getAttributes())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("session", "s-42", "user", "user-7", ScriptedInferenceJob.TAG, tag));
    assertThat(request.getKind()).isEqualTo(RequestKind.RAG);
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.BYPASS);
    assertThat(request.getRetrieval().getTopK()).isEqualTo(3);
    assertThat(request.getRetrieval().getIndex()).isEqualTo("docs");
    assertThat(request.getMaxTokens()).isEqualTo(64);
    assertThat(request.getSeed()).isEqualTo(7L);
    assertThat(request.getMessages().get(0).getRole()).isEqualTo(ChatRole.SYSTEM);
    assertThat(request.getDeadline().toEpochMilli() - request.getCreatedAt().toEpochMilli())
        .isEqualTo(30_000);

    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "The Quillon River"),
        pieces.delta(1, 2, " is 412 km long."),
        pieces.endOk(1, 3));

    List<ChatCompletionChunk> chunks = stream.get(30, TimeUnit.SECONDS);
    assertThat(text(chunks)).isEqualTo("The Quillon River is 412 km long.");
    assertThat(chunks)
        .allSatisfy(c -> assertThat(c.id()).isEqualTo("chatcmpl-" + request.getRequestId()));
    assertThat(chunks.get(0).choices().get(0).delta().role()).isPresent();
    JsonValue head = chunks.get(0)._additionalProperties().get("streamrag");
    assertThat(
            JSON.valueToTree(head.convert(Map.class))
                .path("citations")
                .path(0)
                .path("doc_id")
                .asText())
        .isEqualTo("doc-1");
    assertThat(
            chunks.stream()
                .flatMap(c -> c.choices().stream())
                .flatMap(c -> c.finishReason().stream())
                .toList())
        .containsExactly(ChatCompletionChunk.Choice.FinishReason.STOP);
    ChatCompletionChunk usage = chunks.get(chunks.size() - 1);
    assertThat(usage.usage())
        .hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(5));
    assertThat(chunks.subList(0, chunks.size() - 1))
        .as("usage: null before the usage chunk")
        .allSatisfy(c -> assertThat(c.usage()).isEmpty());
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
    assertThat(gateway.metrics().render())
        .contains("streamrag_gateway_time_to_first_text_ms_count")
        .contains("streamrag_gateway_requests_total{route=\"chat_completions\",status=\"200\"}");
  }

  @Test
  void wholeAnswer() throws Exception {
    CompletableFuture<ChatCompletion> answer = askInBackground(client, question().build());
    InferenceRequest request = job.nextRequest(tag);
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "412 km"),
        pieces.delta(1, 2, "."),
        pieces.endOk(1, 3));
    ChatCompletion completion = answer.get(30, TimeUnit.SECONDS);
    assertThat(completion.id()).isEqualTo("chatcmpl-" + request.getRequestId());
    assertThat(content(completion)).isEqualTo("412 km.");
    assertThat(completion.choices().get(0).finishReason())
        .isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(completion.usage())
        .hasValueSatisfying(u -> assertThat(u.totalTokens()).isEqualTo(17));
  }

  @Test
  void contractCasesOnTheWire() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream =
        streamInBackground(client, question().build());
    InferenceRequest request = job.nextRequest(tag);
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    Pieces otherGateways = new Pieces("gw-not-mine", TENANT);
    double unknownBefore = gateway.metrics().pieces(PieceOutcome.UNKNOWN);
    double undecodableBefore = gateway.metrics().pieces(PieceOutcome.UNDECODABLE);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "Hello"),
        pieces.delta(1, 1, "Hello"), // replay
        otherGateways.delta(1, 1, "NOT MINE"), // another gateway's request, same partition
        pieces.head(2), // the answer restarts (a retry) and agrees so far
        pieces.delta(2, 2, " world"), // ahead of a gap
        pieces.delta(1, 2, " STALE")); // the superseded generation goes on
    job.replyRaw(PIECES, 1, request.getRequestId(), "garbage".getBytes(StandardCharsets.UTF_8));
    job.reply(request, pieces.delta(2, 1, "Hello"), pieces.endOk(2, 3)); // fills the gap, ends

    assertThat(text(stream.get(30, TimeUnit.SECONDS))).isEqualTo("Hello world");
    assertThat(gateway.metrics().pieces(PieceOutcome.UNKNOWN)).isEqualTo(unknownBefore + 1);
    assertThat(gateway.metrics().pieces(PieceOutcome.UNDECODABLE)).isEqualTo(undecodableBefore + 1);
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
    assertThat(gateway.metrics().render())
        .containsPattern("streamrag_gateway_pieces_dropped_total\\{reason=\"duplicate\"} [1-9]")
        .containsPattern("streamrag_gateway_pieces_dropped_total\\{reason=\"stale\"} [1-9]");
  }

  @Test
  void wrongOrMissingKeyIs401AndCounted() throws Exception {
    double invalid = gateway.metrics().authFailures(GatewayMetrics.AUTH_INVALID_KEY);
    double missing = gateway.metrics().authFailures(GatewayMetrics.AUTH_MISSING_KEY);
    try (ClosingClient stranger =
        new ClosingClient(client(gateway.baseUrl(), "sk-wrong-0123456789abc"))) {
      assertThatThrownBy(() -> stranger.api().chat().completions().create(question().build()))
          .isInstanceOf(UnauthorizedException.class)
          .satisfies(
              e -> assertThat(((OpenAIServiceException) e).code()).contains("invalid_api_key"));
    }
    HttpResponse<String> noKey = post(gateway.baseUrl(), body(false, ""), null);
    assertThat(noKey.statusCode()).isEqualTo(401);
    assertThat(gateway.metrics().authFailures(GatewayMetrics.AUTH_INVALID_KEY))
        .isEqualTo(invalid + 1);
    assertThat(gateway.metrics().authFailures(GatewayMetrics.AUTH_MISSING_KEY))
        .isEqualTo(missing + 1);
    assertThat(job.noRequestWithin(tag, Duration.ofMillis(500))).isTrue();
  }

  @Test
  void unknownModelIs404() {
    assertThatThrownBy(() -> client.chat().completions().create(question().model("gpt-9").build()))
        .isInstanceOf(NotFoundException.class)
        .satisfies(
            e -> assertThat(((OpenAIServiceException) e).code()).contains("model_not_found"));
  }

  @Test
  void badInputIs400AndNeverReachesKafka() throws Exception {
    assertThatThrownBy(
            () -> client.chat().completions().create(question().temperature(5.0).build()))
        .isInstanceOf(BadRequestException.class)
        .satisfies(e -> assertThat(((OpenAIServiceException) e).param()).contains("temperature"));
    HttpResponse<String> noMessages = post(gateway.baseUrl(), "{\"model\":\"" + MODEL + "\"}", KEY);
    assertThat(noMessages.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(noMessages.body()).path("error").path("param").asText())
        .isEqualTo("messages");
    HttpResponse<String> malformed = post(gateway.baseUrl(), "{\"model\":", KEY);
    assertThat(malformed.statusCode()).isEqualTo(400);
    for (String refused :
        List.of(
            "\"response_format\":{\"type\":\"json_object\"}",
            "\"tool_choice\":\"auto\"",
            "\"logprobs\":true",
            "\"n\":2")) {
      HttpResponse<String> response = post(gateway.baseUrl(), body(false, refused), KEY);
      assertThat(response.statusCode()).as(refused).isEqualTo(400);
      assertThat(JSON.readTree(response.body()).path("error").path("param").asText())
          .isEqualTo(refused.substring(1, refused.indexOf('"', 1)));
    }
    assertThat(job.noRequestWithin(tag, Duration.ofMillis(500))).isTrue();
  }

  @Test
  void unsafeIndexNamesAreRefusedBeforeKafka() throws Exception {
    for (String index : List.of("*", "_all", "docs,secrets", "remote:docs", ".kibana")) {
      HttpResponse<String> response =
          post(
              gateway.baseUrl(),
              body(false, "\"streamrag\":{\"retrieval\":{\"index\":\"" + index + "\"}}"),
              KEY);
      assertThat(response.statusCode()).as(index).isEqualTo(400);
      assertThat(JSON.readTree(response.body()).path("error").path("param").asText())
          .isEqualTo("streamrag.retrieval.index");
    }
    assertThat(job.noRequestWithin(tag, Duration.ofMillis(500))).isTrue();
  }

  @Test
  void bodyOverTheLimitIs413() throws Exception {
    String big =
        "{\"model\":\""
            + MODEL
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(1024 * 1024 + 10)
            + "\"}]}";
    HttpResponse<String> response = post(gateway.baseUrl(), big, KEY);
    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(response.headers().firstValue("x-request-id"))
        .hasValueSatisfying(id -> assertThat(id).startsWith("gw-"));
    assertThat(JSON.readTree(response.body()).path("error").path("type").asText())
        .isEqualTo("invalid_request_error");
    assertThatThrownBy(
            () ->
                client
                    .chat()
                    .completions()
                    .create(question().addUserMessage("y".repeat(1024 * 1024 + 10)).build()))
        .isInstanceOf(UnexpectedStatusCodeException.class)
        .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(413));
  }

  @Test
  void aRequestWhoseRecordWouldBeTooLargeIs413BeforeAnySend() throws Exception {
    String prefix = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"";
    String suffix = "\"}],\"metadata\":{\"test\":\"" + tag + "\"}}";
    int room = (int) GatewayConfig.DEFAULT_MAX_BODY_BYTES - prefix.length() - suffix.length();
    String body = prefix + "x".repeat(room) + suffix;
    assertThat(body.getBytes(StandardCharsets.UTF_8)).hasSize(1024 * 1024);
    double sends = kafkaSends(gateway.metrics());

    HttpResponse<String> response = post(gateway.baseUrl(), body, KEY);
    assertThat(response.statusCode()).as("the body fits, its record does not").isEqualTo(413);
    JsonNode error = JSON.readTree(response.body()).path("error");
    assertThat(error.path("code").asText()).isEqualTo("request_too_large");
    assertThat(error.path("message").asText()).contains("1048576-byte record");
    assertThat(kafkaSends(gateway.metrics())).as("nothing was sent").isEqualTo(sends);
    assertThat(job.noRequestWithin(tag, Duration.ofMillis(500))).isTrue();
  }

  @Test
  void rejectedByTheJobIs400() throws Exception {
    CompletableFuture<ChatCompletion> answer = askInBackground(client, question().build());
    InferenceRequest request = job.nextRequest(tag);
    job.reply(
        request,
        ScriptedInferenceJob.piecesOf(request)
            .endFailed(1, 0, ResponseStatus.REJECTED, "validation.prompt_too_long", false));
    Throwable failure = failureOf(answer);
    assertThat(failure).isInstanceOf(BadRequestException.class);
    assertThat(((OpenAIServiceException) failure).code()).contains("context_length_exceeded");
  }

  @Test
  void rejectedBeforeAnyTextOfAStreamIsStillAnHttpError() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream =
        streamInBackground(client, question().build());
    InferenceRequest request = job.nextRequest(tag);
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.endFailed(1, 0, ResponseStatus.REJECTED, "validation.unknown_model", false));
    assertThat(failureOf(stream)).isInstanceOf(NotFoundException.class);
  }

  @Test
  void errorAfterTextEndsTheStreamWithAnErrorEvent() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream =
        streamInBackground(client, question().build());
    InferenceRequest request = job.nextRequest(tag);
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "The Quillon"),
        pieces.endFailed(1, 2, ResponseStatus.ERROR, "llm.stream", false));
    Throwable failure = failureOf(stream);
    assertThat(failure).isInstanceOf(SseException.class);
    assertThat(failure.getMessage())
        .contains("The language model failed to answer this request.")
        .doesNotContain("job says");
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
  }

  @Test
  void noEndBeforeTheDeadlineIs504() throws Exception {
    CompletableFuture<ChatCompletion> answer =
        askInBackground(
            client,
            question()
                .putAdditionalBodyProperty("streamrag", JsonValue.from(Map.of("timeout_ms", 500)))
                .build());
    InferenceRequest request = job.nextRequest(tag);
    assertThat(request.getDeadline().toEpochMilli() - request.getCreatedAt().toEpochMilli())
        .isEqualTo(500);
    Throwable failure = failureOf(answer);
    assertThat(failure).isInstanceOf(InternalServerException.class);
    assertThat(((OpenAIServiceException) failure).statusCode()).isEqualTo(504);
  }

  /**
   * The SDKs retry every 5xx unless told otherwise: a TIMEOUT (504), a non-retryable ERROR (502)
   * and the gateway's own deadline (504) say {@code x-should-retry: false}, so a client with
   * default retries sends each once; a retryable ERROR (503) says retry, and it does.
   */
  @Test
  void theDefaultClientDoesNotRetryWhatWouldFailAgain() throws Exception {
    try (ClosingClient retrying = new ClosingClient(defaultClient(gateway.baseUrl(), KEY))) {
      for (ResponseStatus status : List.of(ResponseStatus.TIMEOUT, ResponseStatus.ERROR)) {
        CompletableFuture<ChatCompletion> answer =
            askInBackground(retrying.api(), question().build());
        InferenceRequest request = job.nextRequest(tag);
        job.reply(
            request,
            ScriptedInferenceJob.piecesOf(request)
                .endFailed(
                    1,
                    0,
                    status,
                    status == ResponseStatus.TIMEOUT ? "llm.timeout" : "llm.http_500",
                    false));
        Throwable failure = failureOf(answer);
        assertThat(((OpenAIServiceException) failure).statusCode())
            .isEqualTo(status == ResponseStatus.TIMEOUT ? 504 : 502);
        assertThat(job.noRequestWithin(tag, Duration.ofMillis(2500)))
            .as("%s was not retried", status)
            .isTrue();
      }

      CompletableFuture<ChatCompletion> deadline =
          askInBackground(
              retrying.api(),
              question()
                  .putAdditionalBodyProperty("streamrag", JsonValue.from(Map.of("timeout_ms", 300)))
                  .build());
      job.nextRequest(tag);
      assertThat(((OpenAIServiceException) failureOf(deadline)).statusCode()).isEqualTo(504);
      assertThat(job.noRequestWithin(tag, Duration.ofMillis(2500)))
          .as("the gateway's deadline was not retried")
          .isTrue();

      CompletableFuture<ChatCompletion> retried =
          askInBackground(retrying.api(), question().build());
      InferenceRequest first = job.nextRequest(tag);
      job.reply(
          first,
          ScriptedInferenceJob.piecesOf(first)
              .endFailed(1, 0, ResponseStatus.ERROR, "llm.http_503", true));
      InferenceRequest second = job.nextRequest(tag);
      assertThat(second.getRequestId()).isNotEqualTo(first.getRequestId());
      Pieces pieces = ScriptedInferenceJob.piecesOf(second);
      job.reply(second, pieces.head(1), pieces.delta(1, 1, "second time"), pieces.endOk(1, 2));
      assertThat(content(retried.get(30, TimeUnit.SECONDS))).isEqualTo("second time");
    }
  }

  @Test
  void everyChatResponseCarriesARequestIdAndErrorsTheirRetryHeaders() throws Exception {
    HttpResponse<String> unauthorized =
        post(gateway.baseUrl(), body(false, ""), "sk-nobody-0123456789");
    HttpResponse<String> invalid = post(gateway.baseUrl(), "{}", KEY);
    HttpResponse<String> unknownModel =
        post(gateway.baseUrl(), body(false, "").replace(MODEL, "gpt-9"), KEY);
    for (HttpResponse<String> response : List.of(unauthorized, invalid, unknownModel)) {
      assertThat(response.headers().firstValue("x-request-id"))
          .hasValueSatisfying(id -> assertThat(id).matches("gw-[0-9a-f-]{36}"));
      assertThat(response.headers().firstValue("x-should-retry")).isEmpty();
    }
    assertThat(unauthorized.statusCode()).isEqualTo(401);
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(unknownModel.statusCode()).isEqualTo(404);
    assertThat(job.noRequestWithin(tag, Duration.ofMillis(300))).isTrue();
  }

  @Test
  void eventStreamsTellProxiesNotToBufferOrCache() throws Exception {
    CompletableFuture<HttpResponse<Stream<String>>> response =
        HTTP.sendAsync(
            HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body(true, "")))
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    InferenceRequest request = job.nextRequest(tag);
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(request, pieces.head(1), pieces.delta(1, 1, "ok"), pieces.endOk(1, 2));
    HttpResponse<Stream<String>> stream = response.get(30, TimeUnit.SECONDS);
    assertThat(stream.statusCode()).isEqualTo(200);
    assertThat(stream.headers().firstValue("content-type")).contains("text/event-stream");
    assertThat(stream.headers().firstValue("cache-control")).contains("no-cache");
    assertThat(stream.headers().firstValue("x-accel-buffering")).contains("no");
    assertThat(stream.headers().firstValue("x-request-id")).contains(request.getRequestId());
    assertThat(stream.body().filter(line -> line.startsWith("data: ")).toList())
        .last()
        .isEqualTo("data: [DONE]");
  }

  @Test
  void modelsAndHealth() throws Exception {
    assertThat(client.models().list().data()).extracting(m -> m.id()).containsExactly(MODEL);
    HttpResponse<String> health = get(gateway.baseUrl() + "/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(health.body()))
        .isEqualTo(JSON.readTree("{\"status\":\"ok\",\"kafka\":\"up\"}"));
    HttpResponse<String> metrics = get(gateway.baseUrl() + "/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("streamrag_gateway_kafka_up 1.0");
  }

  @Test
  void healthAndMetricsCanHaveAPrivatePort() throws Exception {
    try (Gateway split = Gateway.start(config(0).managementPort(0).build())) {
      assertThat(split.managementBaseUrl()).isNotEqualTo(split.baseUrl());
      assertThat(get(split.baseUrl() + "/health").statusCode()).isEqualTo(404);
      assertThat(get(split.baseUrl() + "/metrics").statusCode()).isEqualTo(404);
      HttpResponse<String> health = get(split.managementBaseUrl() + "/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(health.body()))
          .isEqualTo(JSON.readTree("{\"status\":\"ok\",\"kafka\":\"up\"}"));
      assertThat(get(split.managementBaseUrl() + "/metrics").body())
          .contains("streamrag_gateway_kafka_up 1.0");
      assertThat(get(split.managementBaseUrl() + "/v1/models").statusCode()).isEqualTo(404);
    }
  }

  @Test
  void twoGatewaysOnTwoPartitionsReceiveOnlyTheirOwnPieces() throws Exception {
    try (Gateway second = Gateway.start(config(2).build());
        ClosingClient secondClient = new ClosingClient(client(second.baseUrl(), KEY))) {
      CompletableFuture<ChatCompletion> first = askInBackground(client, question().build());
      InferenceRequest firstRequest = job.nextRequest(tag);
      CompletableFuture<ChatCompletion> other =
          askInBackground(secondClient.api(), question().build());
      InferenceRequest secondRequest = job.nextRequest(tag);
      assertThat(firstRequest.getReplyTo().getPartition()).isEqualTo(1);
      assertThat(secondRequest.getReplyTo().getPartition()).isEqualTo(2);

      Pieces a = ScriptedInferenceJob.piecesOf(firstRequest);
      Pieces b = ScriptedInferenceJob.piecesOf(secondRequest);
      double secondUnknownBefore = second.metrics().pieces(PieceOutcome.UNKNOWN);
      // The first request's pieces on the second gateway's partition reach nobody.
      job.replyTo(PIECES, 2, a.head(1), a.delta(1, 1, "misrouted"), a.endOk(1, 2));
      job.reply(secondRequest, b.head(1), b.delta(1, 1, "second"), b.endOk(1, 2));
      job.reply(firstRequest, a.head(1), a.delta(1, 1, "first"), a.endOk(1, 2));

      assertThat(content(first.get(30, TimeUnit.SECONDS))).isEqualTo("first");
      assertThat(content(other.get(30, TimeUnit.SECONDS))).isEqualTo("second");
      assertThat(second.metrics().pieces(PieceOutcome.UNKNOWN)).isEqualTo(secondUnknownBefore + 3);
      assertThat(second.metrics().pieces(PieceOutcome.ROUTED)).isEqualTo(3);
    }
  }

  @Test
  void tooManyOpenRequestsIs429() throws Exception {
    try (Gateway small = Gateway.start(config(0).maxStreams(1).build());
        ClosingClient smallClient = new ClosingClient(client(small.baseUrl(), KEY))) {
      CompletableFuture<ChatCompletion> held =
          askInBackground(smallClient.api(), question().build());
      InferenceRequest request = job.nextRequest(tag);
      assertThatThrownBy(() -> smallClient.api().chat().completions().create(question().build()))
          .isInstanceOf(RateLimitException.class);
      HttpResponse<String> refused = post(small.baseUrl(), body(false, ""), KEY);
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(refused.headers().firstValue("x-should-retry")).contains("true");
      assertThat(refused.headers().firstValue("retry-after")).contains("1");
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "ok"), pieces.endOk(1, 2));
      assertThat(content(held.get(30, TimeUnit.SECONDS))).isEqualTo("ok");
    }
  }

  @Test
  void unreachableKafkaIs503BeforeAnyKafkaCallAndSaysNothingAboutKafka() throws Exception {
    int nothingListens = Ports.freePort();
    try (Gateway cut =
        Gateway.start(
            config(0)
                .bootstrapServers("127.0.0.1:" + nothingListens)
                .kafkaTimeout(Duration.ofSeconds(1))
                .build())) {
      HttpResponse<String> response = post(cut.baseUrl(), body(false, ""), KEY);
      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(response.headers().firstValue("x-should-retry")).contains("true");
      assertThat(response.headers().firstValue("retry-after")).contains("1");
      assertThat(response.headers().firstValue("x-request-id")).isPresent();
      JsonNode error = JSON.readTree(response.body()).path("error");
      assertThat(error.path("code").asText()).isEqualTo("service_unavailable");
      assertThat(error.path("message").asText())
          .isEqualTo("The request queue is unavailable; retry shortly.");
      assertThat(kafkaSends(cut.metrics())).as("refused before any Kafka call").isZero();

      HttpResponse<String> health = get(cut.baseUrl() + "/health");
      assertThat(health.statusCode()).isEqualTo(503);
      assertThat(JSON.readTree(health.body()))
          .isEqualTo(JSON.readTree("{\"status\":\"unavailable\",\"kafka\":\"down\"}"));
      try (ClosingClient cutClient = new ClosingClient(client(cut.baseUrl(), KEY))) {
        assertThatThrownBy(() -> cutClient.api().chat().completions().create(question().build()))
            .isInstanceOf(InternalServerException.class)
            .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(503));
      }
      assertThat(job.noRequestWithin(tag, Duration.ofMillis(300))).isTrue();
    }
  }

  /**
   * A gateway started while its bootstrap address is dead (here: a port nobody listens on yet)
   * answers 503, and once the address leads to Kafka, 200: the health check, the consumer's
   * positioning and the producer's creation all recover without a restart.
   */
  @Test
  void kafkaComingBackTurns503Into200() throws Exception {
    int bootstrapPort = Ports.freePort();
    int kafkaPort = Integer.parseInt(KAFKA.bootstrapServers().replaceAll(".*:", ""));
    try (Gateway late =
            Gateway.start(
                config(0)
                    .bootstrapServers("127.0.0.1:" + bootstrapPort)
                    .kafkaTimeout(Duration.ofSeconds(1))
                    .healthInterval(Duration.ofMillis(200))
                    .build());
        ClosingClient lateClient = new ClosingClient(client(late.baseUrl(), KEY))) {
      assertThat(post(late.baseUrl(), body(false, ""), KEY).statusCode()).isEqualTo(503);
      assertThat(get(late.baseUrl() + "/health").statusCode()).isEqualTo(503);

      try (TcpForwarder kafkaIsBack = new TcpForwarder(bootstrapPort, kafkaPort)) {
        awaitTrue(
            "health 200 once Kafka is reachable",
            Duration.ofSeconds(60),
            () -> status(late.baseUrl() + "/health") == 200);
        CompletableFuture<ChatCompletion> answer =
            askInBackground(lateClient.api(), question().build());
        InferenceRequest request = job.nextRequest(tag);
        Pieces pieces = ScriptedInferenceJob.piecesOf(request);
        job.reply(request, pieces.head(1), pieces.delta(1, 1, "back"), pieces.endOk(1, 2));
        assertThat(content(answer.get(30, TimeUnit.SECONDS))).isEqualTo("back");
      }
    }
  }

  @Test
  void missingReplyPartitionFailsAtStart() {
    assertThatThrownBy(() -> Gateway.start(config(3).build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("reply partition 3 does not exist")
        .hasMessageContaining("has 3 partition(s), 0..2");
  }

  private String rawRequest(String body, String key) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        + key
        + "\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length
        + "\r\n\r\n"
        + body;
  }

  @Test
  void aClientThatLeavesMidStreamLeavesNothingOpen() throws Exception {
    URI uri = URI.create(gateway.baseUrl());
    InferenceRequest request;
    double gone = gateway.metrics().failedAnswers(GatewayMetrics.AnswerFailure.CLIENT_GONE);
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), uri.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(rawRequest(body(true, ""), KEY).getBytes(StandardCharsets.UTF_8));
      out.flush();
      request = job.nextRequest(tag);
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "first words"));
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.contains("first words")) {
        // read until the first text arrived
      }
      assertThat(line).contains("first words");
      assertThat(gateway.metrics().openStreams()).isEqualTo(1);
    } // the client goes away mid-stream
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
    assertThat(gateway.openExchanges()).isZero();
    assertThat(gateway.metrics().failedAnswers(GatewayMetrics.AnswerFailure.CLIENT_GONE))
        .isEqualTo(gone + 1);
    // The rest of the answer arrives for nobody.
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    double unknown = gateway.metrics().pieces(PieceOutcome.UNKNOWN);
    job.reply(request, pieces.delta(1, 2, " more"), pieces.endOk(1, 3));
    awaitTrue(
        "late pieces counted as unknown",
        () -> gateway.metrics().pieces(PieceOutcome.UNKNOWN) >= unknown + 2);
  }

  @Test
  void aClientThatStopsReadingIsCutOffWithoutHoldingUpOthers() throws Exception {
    try (Gateway tight = Gateway.start(config(0).maxClientBufferBytes(64 * 1024).build());
        ClosingClient tightClient = new ClosingClient(client(tight.baseUrl(), KEY));
        Socket socket =
            new Socket(InetAddress.getLoopbackAddress(), URI.create(tight.baseUrl()).getPort())) {
      socket.setReceiveBufferSize(4096);
      OutputStream out = socket.getOutputStream();
      out.write(rawRequest(body(true, ""), KEY).getBytes(StandardCharsets.UTF_8));
      out.flush();
      InferenceRequest stalled = job.nextRequest(tag); // this client never reads its answer
      Pieces pieces = ScriptedInferenceJob.piecesOf(stalled);
      String chunk = "x".repeat(256 * 1024);
      job.reply(stalled, pieces.head(1));
      for (int seq = 1; seq <= 80 && tight.metrics().openStreams() > 0; seq++) {
        job.reply(stalled, pieces.delta(1, seq, chunk));
      }
      awaitTrue("the stalled client was cut off", () -> tight.metrics().openStreams() == 0);
      assertThat(tight.metrics().failedAnswers(GatewayMetrics.AnswerFailure.SLOW_CLIENT))
          .isEqualTo(1);

      // Meanwhile, another client on the same gateway is served as usual.
      CompletableFuture<ChatCompletion> other =
          askInBackground(tightClient.api(), question().build());
      InferenceRequest request = job.nextRequest(tag);
      Pieces otherPieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(
          request, otherPieces.head(1), otherPieces.delta(1, 1, "fine"), otherPieces.endOk(1, 2));
      assertThat(content(other.get(30, TimeUnit.SECONDS))).isEqualTo("fine");
    }
  }

  @Test
  void idleConnectionsAndTrickledBodiesAreClosed() throws Exception {
    try (Gateway strict =
        Gateway.start(
            config(0)
                .idleTimeout(Duration.ofMillis(500))
                .bodyTimeout(Duration.ofMillis(500))
                .build())) {
      int port = URI.create(strict.baseUrl()).getPort();
      try (Socket idle = new Socket(InetAddress.getLoopbackAddress(), port)) {
        idle.setSoTimeout(10_000);
        assertThat(idle.getInputStream().read()).as("closed without a byte").isEqualTo(-1);
      }
      assertThat(strict.metrics().connectionsClosedBy(ConnectionClose.IDLE)).isEqualTo(1);

      try (Socket trickle = new Socket(InetAddress.getLoopbackAddress(), port)) {
        trickle.setSoTimeout(10_000);
        String body = body(false, "");
        String request = rawRequest(body, KEY);
        OutputStream out = trickle.getOutputStream();
        // The headers and a few bytes of the body, then nothing more.
        out.write(
            request
                .substring(0, request.length() - body.length() + 5)
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
        String answer = readAll(trickle.getInputStream());
        assertThat(answer).startsWith("HTTP/1.1 408").contains("request_timeout");
      }
      assertThat(strict.metrics().connectionsClosedBy(ConnectionClose.BODY_TIMEOUT)).isEqualTo(1);
      awaitTrue("connections closed", () -> strict.metrics().openConnections() == 0);
      assertThat(job.noRequestWithin(tag, Duration.ofMillis(300))).isTrue();
    }
  }

  @Test
  void connectionsBeyondTheCapAreClosed() throws Exception {
    try (Gateway capped = Gateway.start(config(0).maxConnections(2).eventLoops(1).build())) {
      int port = URI.create(capped.baseUrl()).getPort();
      try (Socket first = new Socket(InetAddress.getLoopbackAddress(), port);
          Socket second = new Socket(InetAddress.getLoopbackAddress(), port)) {
        awaitTrue("two connections open", () -> capped.metrics().openConnections() == 2);
        try (Socket third = new Socket(InetAddress.getLoopbackAddress(), port)) {
          third.setSoTimeout(10_000);
          assertThat(third.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(capped.metrics().connectionsClosedBy(ConnectionClose.OVER_LIMIT)).isEqualTo(1);
        second.setSoTimeout(10_000);
        OutputStream out = second.getOutputStream();
        out.write(
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        assertThat(new BufferedReader(new InputStreamReader(second.getInputStream())).readLine())
            .as("connections within the cap are served")
            .isEqualTo("HTTP/1.1 200 OK");
      }
    }
  }

  /**
   * Idle timers do not cut a request waiting for its first token: a whole answer waits in silence,
   * a stream begins and gets keep-alive comments.
   */
  @Test
  void aLongWaitForTheFirstTokenIsNotCut() throws Exception {
    try (Gateway patient =
            Gateway.start(
                config(0)
                    .idleTimeout(Duration.ofMillis(300))
                    .sseKeepAlive(Duration.ofMillis(200))
                    .build());
        ClosingClient patientClient = new ClosingClient(client(patient.baseUrl(), KEY))) {
      CompletableFuture<ChatCompletion> whole =
          askInBackground(patientClient.api(), question().build());
      InferenceRequest wholeRequest = job.nextRequest(tag);
      CompletableFuture<List<ChatCompletionChunk>> stream =
          streamInBackground(patientClient.api(), question().build());
      InferenceRequest streamRequest = job.nextRequest(tag);
      Thread.sleep(1500); // five idle timeouts, seven keep-alives
      assertThat(patient.metrics().connectionsClosedBy(ConnectionClose.IDLE))
          .as("no connection with a request in progress was closed as idle")
          .isZero();
      for (InferenceRequest request : List.of(wholeRequest, streamRequest)) {
        Pieces pieces = ScriptedInferenceJob.piecesOf(request);
        job.reply(
            request, pieces.head(1), pieces.delta(1, 1, "worth the wait"), pieces.endOk(1, 2));
      }
      assertThat(content(whole.get(30, TimeUnit.SECONDS))).isEqualTo("worth the wait");
      assertThat(text(stream.get(30, TimeUnit.SECONDS))).isEqualTo("worth the wait");
    }
  }

  @Test
  void shutdownLetsAnOpenStreamFinishAndRefusesNewRequests() throws Exception {
    try (Gateway draining = Gateway.start(config(0).shutdownGrace(Duration.ofSeconds(30)).build());
        ClosingClient drainingClient = new ClosingClient(client(draining.baseUrl(), KEY))) {
      CompletableFuture<List<ChatCompletionChunk>> stream =
          streamInBackground(drainingClient.api(), question().build());
      InferenceRequest request = job.nextRequest(tag);
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "begun before"));

      CompletableFuture<Void> stopping = CompletableFuture.runAsync(draining::shutdown);
      awaitTrue("health says shutting down", () -> status(draining.baseUrl() + "/health") == 503);
      assertThat(JSON.readTree(get(draining.baseUrl() + "/health").body()))
          .isEqualTo(JSON.readTree("{\"status\":\"shutting_down\",\"kafka\":\"up\"}"));
      HttpResponse<String> refused = post(draining.baseUrl(), body(false, ""), KEY);
      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.headers().firstValue("x-should-retry")).contains("true");
      assertThat(stopping).as("waits for the open stream").isNotDone();

      job.reply(request, pieces.delta(1, 2, ", ended after"), pieces.endOk(1, 3));
      assertThat(text(stream.get(30, TimeUnit.SECONDS))).isEqualTo("begun before, ended after");
      stopping.get(30, TimeUnit.SECONDS);
      assertThat(job.noRequestWithin(tag, Duration.ofMillis(300))).isTrue();
    }
  }

  @Test
  void theFixtureRunsTheGatewayAsAChildProcessThatDrainsOnSigterm() throws Exception {
    GatewayServer server =
        GatewayServer.builder(Path.of("target", "servers"), KAFKA.bootstrapServers())
            .replyPartition(0)
            .apiKey("sk-fixture-0123456789", "fixture-tenant")
            .models(List.of(MODEL))
            .requestsTopic(REQUESTS)
            .piecesTopic(PIECES)
            .start();
    CompletableFuture<Void> stopping = null;
    try (ClosingClient fixtureClient =
        new ClosingClient(client(server.baseUrl(), "sk-fixture-0123456789"))) {
      assertThat(server.isEmbedded()).isTrue();
      assertThat(server.openAiBaseUrl()).isEqualTo(server.baseUrl() + "/v1");
      CompletableFuture<List<ChatCompletionChunk>> stream =
          streamInBackground(fixtureClient.api(), question().build());
      InferenceRequest request = job.nextRequest(tag);
      assertThat(request.getTenantId()).isEqualTo("fixture-tenant");
      assertThat(request.getReplyTo().getPartition()).isZero();
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "from a child"));

      stopping = CompletableFuture.runAsync(server::close); // SIGTERM, then waits for the exit
      awaitTrue("draining after SIGTERM", () -> status(server.baseUrl() + "/health") == 503);
      job.reply(request, pieces.delta(1, 2, " process"), pieces.endOk(1, 3));
      assertThat(text(stream.get(30, TimeUnit.SECONDS))).isEqualTo("from a child process");
      stopping.get(60, TimeUnit.SECONDS);
    } finally {
      if (stopping == null) {
        server.close();
      }
    }
  }

  private static String readAll(InputStream in) throws IOException {
    StringBuilder text = new StringBuilder();
    byte[] buffer = new byte[4096];
    try {
      int read;
      while ((read = in.read(buffer)) >= 0) {
        text.append(new String(buffer, 0, read, StandardCharsets.UTF_8));
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the connection was not closed; received: " + text, e);
    }
    return text.toString();
  }

  private static HttpResponse<String> post(String baseUrl, String body, String key)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + "/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The status of GET {@code url}, or -1 if nothing answers. */
  private static int status(String url) {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
