package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
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
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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
 */
@Timeout(120)
class GatewayIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private static final String REQUESTS = "gateway-it.requests";
  private static final String PIECES = "gateway-it.pieces";
  private static final String KEY = "sk-acme-test";
  private static final String TENANT = "acme";
  private static final String MODEL = "sim-model";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static Gateway gateway;
  private static ScriptedInferenceJob job;
  private static OpenAIClient client;

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

  private static GatewayConfig.Builder config(int replyPartition) {
    return GatewayConfig.builder()
        .bootstrapServers(KAFKA.bootstrapServers())
        .requestsTopic(REQUESTS)
        .piecesTopic(PIECES)
        .replyPartition(replyPartition)
        .port(0)
        .eventLoops(2)
        .addApiKey(KEY, TENANT)
        .addApiKey("sk-globex-test", "globex")
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

  private static OpenAIClient client(String baseUrl, String key) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(baseUrl + "/v1")
        .apiKey(key)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  private static ChatCompletionCreateParams.Builder question() {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addSystemMessage("Answer from the context.")
        .addUserMessage("How long is the Quillon River?")
        .maxCompletionTokens(64);
  }

  /** Streams {@code params} in the background; the chunks' text, or the failure. */
  private static CompletableFuture<List<ChatCompletionChunk>> streamInBackground(
      ChatCompletionCreateParams params) {
    return CompletableFuture.supplyAsync(
        () -> {
          List<ChatCompletionChunk> chunks = new ArrayList<>();
          try (StreamResponse<ChatCompletionChunk> stream =
              client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunks::add);
          }
          return chunks;
        });
  }

  private static String text(List<ChatCompletionChunk> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(
        chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
    return text.toString();
  }

  private static Throwable failureOf(CompletableFuture<?> future) {
    assertThatThrownBy(() -> future.get(30, TimeUnit.SECONDS))
        .isInstanceOf(java.util.concurrent.ExecutionException.class);
    return future
        .handle((value, error) -> error.getCause() != null ? error.getCause() : error)
        .join();
  }

  private static void awaitTrue(String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Thread.sleep(20);
    }
  }

  // user and seed are deprecated in OpenAI's API, yet clients still send them and the gateway maps
  // them; _additionalProperties() is how openai-java exposes the streamrag extension.
  @SuppressWarnings("deprecation")
  @Test
  void streamedAnswerWithUsageAndTheExtension() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream =
        streamInBackground(
            question()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .metadata(
                    ChatCompletionCreateParams.Metadata.builder()
                        .putAdditionalProperty("session", JsonValue.from("s-42"))
                        .build())
                .user("user-7")
                .temperature(0.0)
                .seed(7)
                .putAdditionalBodyProperty(
                    "streamrag",
                    JsonValue.from(
                        Map.of(
                            "kind", "rag",
                            "cache_mode", "bypass",
                            "retrieval", Map.of("top_k", 3))))
                .build());

    InferenceRequest request = job.nextRequest();
    assertThat(request.getRequestId()).startsWith("gw-");
    assertThat(request.getTenantId()).as("the key's tenant").isEqualTo(TENANT);
    assertThat(request.getReplyTo().getTopic()).isEqualTo(PIECES);
    assertThat(request.getReplyTo().getPartition()).isEqualTo(1);
    assertThat(request.getAttributes())
        .containsExactlyInAnyOrderEntriesOf(Map.of("session", "s-42", "user", "user-7"));
    assertThat(request.getKind()).isEqualTo(RequestKind.RAG);
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.BYPASS);
    assertThat(request.getRetrieval().getTopK()).isEqualTo(3);
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
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
    assertThat(gateway.metrics().render())
        .contains("streamrag_gateway_time_to_first_text_ms_count")
        .contains("streamrag_gateway_requests_total{route=\"chat_completions\",status=\"200\"}");
  }

  @Test
  void wholeAnswer() throws Exception {
    CompletableFuture<ChatCompletion> answer =
        CompletableFuture.supplyAsync(() -> client.chat().completions().create(question().build()));
    InferenceRequest request = job.nextRequest();
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "412 km"),
        pieces.delta(1, 2, "."),
        pieces.endOk(1, 3));
    ChatCompletion completion = answer.get(30, TimeUnit.SECONDS);
    assertThat(completion.id()).isEqualTo("chatcmpl-" + request.getRequestId());
    assertThat(completion.choices().get(0).message().content()).contains("412 km.");
    assertThat(completion.choices().get(0).finishReason())
        .isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(completion.usage())
        .hasValueSatisfying(u -> assertThat(u.totalTokens()).isEqualTo(17));
  }

  @Test
  void contractCasesOnTheWire() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream = streamInBackground(question().build());
    InferenceRequest request = job.nextRequest();
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
  void wrongOrMissingKeyIs401() {
    try (ClosingClient stranger = new ClosingClient(client(gateway.baseUrl(), "sk-wrong"))) {
      assertThatThrownBy(() -> stranger.api().chat().completions().create(question().build()))
          .isInstanceOf(UnauthorizedException.class)
          .satisfies(
              e -> assertThat(((OpenAIServiceException) e).code()).contains("invalid_api_key"));
    }
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
    HttpResponse<String> noMessages = post("{\"model\":\"" + MODEL + "\"}", KEY);
    assertThat(noMessages.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(noMessages.body()).path("error").path("param").asText())
        .isEqualTo("messages");
    HttpResponse<String> malformed = post("{\"model\":", KEY);
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(job.noRequestWithin(Duration.ofMillis(500))).isTrue();
  }

  @Test
  void bodyOverTheLimitIs413() throws Exception {
    String big =
        "{\"model\":\""
            + MODEL
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(1024 * 1024 + 10)
            + "\"}]}";
    HttpResponse<String> response = post(big, KEY);
    assertThat(response.statusCode()).isEqualTo(413);
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
  void rejectedByTheJobIs400() throws Exception {
    CompletableFuture<ChatCompletion> answer =
        CompletableFuture.supplyAsync(() -> client.chat().completions().create(question().build()));
    InferenceRequest request = job.nextRequest();
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
    CompletableFuture<List<ChatCompletionChunk>> stream = streamInBackground(question().build());
    InferenceRequest request = job.nextRequest();
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.endFailed(1, 0, ResponseStatus.REJECTED, "validation.unknown_model", false));
    assertThat(failureOf(stream)).isInstanceOf(NotFoundException.class);
  }

  @Test
  void errorAfterTextEndsTheStreamWithAnErrorEvent() throws Exception {
    CompletableFuture<List<ChatCompletionChunk>> stream = streamInBackground(question().build());
    InferenceRequest request = job.nextRequest();
    Pieces pieces = ScriptedInferenceJob.piecesOf(request);
    job.reply(
        request,
        pieces.head(1),
        pieces.delta(1, 1, "The Quillon"),
        pieces.endFailed(1, 2, ResponseStatus.ERROR, "llm.stream", false));
    Throwable failure = failureOf(stream);
    assertThat(failure).isInstanceOf(SseException.class);
    assertThat(failure.getMessage()).contains("llm.stream");
    awaitTrue("open streams back to 0", () -> gateway.metrics().openStreams() == 0);
  }

  @Test
  void noEndBeforeTheDeadlineIs504() throws Exception {
    CompletableFuture<ChatCompletion> answer =
        CompletableFuture.supplyAsync(
            () ->
                client
                    .chat()
                    .completions()
                    .create(
                        question()
                            .putAdditionalBodyProperty(
                                "streamrag", JsonValue.from(Map.of("timeout_ms", 500)))
                            .build()));
    InferenceRequest request = job.nextRequest();
    assertThat(request.getDeadline().toEpochMilli() - request.getCreatedAt().toEpochMilli())
        .isEqualTo(500);
    Throwable failure = failureOf(answer);
    assertThat(failure).isInstanceOf(InternalServerException.class);
    assertThat(((OpenAIServiceException) failure).statusCode()).isEqualTo(504);
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
  void twoGatewaysOnTwoPartitionsReceiveOnlyTheirOwnPieces() throws Exception {
    try (Gateway second = Gateway.start(config(2).build());
        ClosingClient secondClient = new ClosingClient(client(second.baseUrl(), KEY))) {
      CompletableFuture<ChatCompletion> first =
          CompletableFuture.supplyAsync(
              () -> client.chat().completions().create(question().build()));
      InferenceRequest firstRequest = job.nextRequest();
      CompletableFuture<ChatCompletion> other =
          CompletableFuture.supplyAsync(
              () -> secondClient.api().chat().completions().create(question().build()));
      InferenceRequest secondRequest = job.nextRequest();
      assertThat(firstRequest.getReplyTo().getPartition()).isEqualTo(1);
      assertThat(secondRequest.getReplyTo().getPartition()).isEqualTo(2);

      Pieces a = ScriptedInferenceJob.piecesOf(firstRequest);
      Pieces b = ScriptedInferenceJob.piecesOf(secondRequest);
      double secondUnknownBefore = second.metrics().pieces(PieceOutcome.UNKNOWN);
      // The first request's pieces on the second gateway's partition reach nobody.
      job.replyTo(PIECES, 2, a.head(1), a.delta(1, 1, "misrouted"), a.endOk(1, 2));
      job.reply(secondRequest, b.head(1), b.delta(1, 1, "second"), b.endOk(1, 2));
      job.reply(firstRequest, a.head(1), a.delta(1, 1, "first"), a.endOk(1, 2));

      assertThat(first.get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("first");
      assertThat(other.get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("second");
      assertThat(second.metrics().pieces(PieceOutcome.UNKNOWN)).isEqualTo(secondUnknownBefore + 3);
      assertThat(second.metrics().pieces(PieceOutcome.ROUTED)).isEqualTo(3);
    }
  }

  @Test
  void tooManyOpenRequestsIs429() throws Exception {
    try (Gateway small = Gateway.start(config(0).maxStreams(1).build());
        ClosingClient smallClient = new ClosingClient(client(small.baseUrl(), KEY))) {
      CompletableFuture<ChatCompletion> held =
          CompletableFuture.supplyAsync(
              () -> smallClient.api().chat().completions().create(question().build()));
      InferenceRequest request = job.nextRequest();
      assertThatThrownBy(() -> smallClient.api().chat().completions().create(question().build()))
          .isInstanceOf(RateLimitException.class);
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "ok"), pieces.endOk(1, 2));
      assertThat(held.get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("ok");
    }
  }

  @Test
  void unreachableKafkaIs503AtOnce() throws Exception {
    int nothingListens = Ports.freePort();
    try (Gateway cut =
        Gateway.start(
            config(0)
                .bootstrapServers("127.0.0.1:" + nothingListens)
                .kafkaTimeout(Duration.ofSeconds(1))
                .build())) {
      long start = System.nanoTime();
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(cut.baseUrl() + "/v1/chat/completions"))
                  .header("Authorization", "Bearer " + KEY)
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertThat(response.statusCode()).isEqualTo(503);
      assertThat(millis).isLessThan(2000);
      assertThat(JSON.readTree(response.body()).path("error").path("code").asText())
          .isEqualTo("service_unavailable");
      HttpResponse<String> health = get(cut.baseUrl() + "/health");
      assertThat(health.statusCode()).isEqualTo(503);
      assertThat(health.body()).contains("\"kafka\":\"down\"");
      try (ClosingClient cutClient = new ClosingClient(client(cut.baseUrl(), KEY))) {
        assertThatThrownBy(() -> cutClient.api().chat().completions().create(question().build()))
            .isInstanceOf(InternalServerException.class)
            .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(503));
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

  @Test
  void aClientThatLeavesMidStreamLeavesNothingOpen() throws Exception {
    URI uri = URI.create(gateway.baseUrl());
    String body =
        "{\"model\":\"sim-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    InferenceRequest request;
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), uri.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + KEY
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.getBytes(StandardCharsets.UTF_8).length
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      request = job.nextRequest();
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
      String body =
          "{\"model\":\"sim-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + KEY
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.getBytes(StandardCharsets.UTF_8).length
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      InferenceRequest stalled = job.nextRequest(); // this client never reads its answer
      Pieces pieces = ScriptedInferenceJob.piecesOf(stalled);
      String chunk = "x".repeat(256 * 1024);
      job.reply(stalled, pieces.head(1));
      for (int seq = 1; seq <= 80 && tight.metrics().openStreams() > 0; seq++) {
        job.reply(stalled, pieces.delta(1, seq, chunk));
      }
      awaitTrue("the stalled client was cut off", () -> tight.metrics().openStreams() == 0);
      assertThat(tight.metrics().render())
          .contains("streamrag_gateway_failed_answers_total{reason=\"slow_client\"} 1.0");

      // Meanwhile, another client on the same gateway is served as usual.
      CompletableFuture<ChatCompletion> other =
          CompletableFuture.supplyAsync(
              () -> tightClient.api().chat().completions().create(question().build()));
      InferenceRequest request = job.nextRequest();
      Pieces otherPieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(
          request, otherPieces.head(1), otherPieces.delta(1, 1, "fine"), otherPieces.endOk(1, 2));
      assertThat(other.get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("fine");
    }
  }

  @Test
  void theFixtureRunsTheGatewayAsAChildProcess() throws Exception {
    try (GatewayServer server =
            GatewayServer.builder(Path.of("target", "servers"), KAFKA.bootstrapServers())
                .replyPartition(0)
                .apiKey("sk-fixture", "fixture-tenant")
                .models(List.of(MODEL))
                .requestsTopic(REQUESTS)
                .piecesTopic(PIECES)
                .start();
        ClosingClient fixtureClient = new ClosingClient(client(server.baseUrl(), "sk-fixture"))) {
      assertThat(server.isEmbedded()).isTrue();
      assertThat(server.openAiBaseUrl()).isEqualTo(server.baseUrl() + "/v1");
      CompletableFuture<ChatCompletion> answer =
          CompletableFuture.supplyAsync(
              () -> fixtureClient.api().chat().completions().create(question().build()));
      InferenceRequest request = job.nextRequest();
      assertThat(request.getTenantId()).isEqualTo("fixture-tenant");
      assertThat(request.getReplyTo().getPartition()).isZero();
      Pieces pieces = ScriptedInferenceJob.piecesOf(request);
      job.reply(request, pieces.head(1), pieces.delta(1, 1, "from a child"), pieces.endOk(1, 2));
      assertThat(answer.get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("from a child");
    }
  }

  private static HttpResponse<String> post(String body, String key) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
