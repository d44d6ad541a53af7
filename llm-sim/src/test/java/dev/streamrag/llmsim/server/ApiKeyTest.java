package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A server with an API key, over real HTTP: {@code /v1/*} answers 401 without {@code Authorization:
 * Bearer KEY}, with vLLM's body; {@code /health} and {@code /metrics} stay open, as in vLLM.
 */
@Timeout(60)
class ApiKeyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String KEY = "sk-sim-9a7b3c2d";
  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":8,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
  private static final String STREAMED_CHAT =
      "{\"model\":\"m\",\"max_tokens\":8,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
  private static final String COMPLETION =
      "{\"model\":\"m\",\"max_tokens\":8,\"prompt\":\"The sea is\"}";

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.builder(FAST, "m").maxBodyBytes(1 << 20).apiKey(KEY).start();
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** {@code authorization} is the whole header value, or null for none. */
  private static HttpResponse<String> send(
      String method, String path, String body, String authorization) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("content-type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertUnauthorized(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.toString()).isEqualTo("{\"error\":\"Unauthorized\"}");
  }

  @Test
  void everyV1RouteWithoutTheRightKeyIs401() throws Exception {
    for (String authorization :
        new String[] {null, "Bearer wrong-key", "Bearer " + KEY + "x", "Basic " + KEY, KEY}) {
      assertUnauthorized(send("POST", "/v1/chat/completions", CHAT, authorization));
      assertUnauthorized(send("POST", "/v1/chat/completions", STREAMED_CHAT, authorization));
      assertUnauthorized(send("POST", "/v1/completions", COMPLETION, authorization));
      assertUnauthorized(send("GET", "/v1/models", null, authorization));
      // vLLM checks before routing: an unknown /v1 path does not tell whether it exists.
      assertUnauthorized(send("GET", "/v1/no-such-route", null, authorization));
    }
  }

  @Test
  void noSpellingOfThePathSlipsPastTheCheck() throws Exception {
    // Each reaches /v1/models (%76 is "v"): Vert.x routes the normalized path, and so the check
    // must see that one, not the path as sent.
    for (String path :
        new String[] {"/%761/models", "/v1/./models", "/x/../v1/models", "//v1/models"}) {
      assertUnauthorized(send("GET", path, null, null));
      assertThat(send("GET", path, null, "Bearer " + KEY).statusCode()).as(path).isEqualTo(200);
    }
  }

  @Test
  void theRightKeyIsServedWholeAndStreamed() throws Exception {
    HttpResponse<String> whole = send("POST", "/v1/chat/completions", CHAT, "Bearer " + KEY);
    assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
    assertThat(JSON.readTree(whole.body()).get("object").asText()).isEqualTo("chat.completion");

    HttpResponse<String> streamed =
        send("POST", "/v1/chat/completions", STREAMED_CHAT, "bearer " + KEY);
    assertThat(streamed.statusCode()).isEqualTo(200);
    assertThat(streamed.headers().firstValue("content-type")).hasValue("text/event-stream");
    assertThat(streamed.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");

    assertThat(send("POST", "/v1/completions", COMPLETION, "Bearer " + KEY).statusCode())
        .isEqualTo(200);
    assertThat(send("GET", "/v1/models", null, "Bearer " + KEY).statusCode()).isEqualTo(200);
  }

  @Test
  void healthAndMetricsStayOpenAsInVllm() throws Exception {
    assertThat(send("GET", "/health", null, null).statusCode()).isEqualTo(200);
    HttpResponse<String> metrics = send("GET", "/metrics", null, null);
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("vllm:num_requests_running");
    assertThat(send("GET", "/health", null, "Bearer wrong-key").statusCode()).isEqualTo(200);
  }

  @Test
  void aRefusedBodyIsNotReadYetTheConnectionServesTheNextRequest() throws Exception {
    // A large body refused before it is read, then the right key on the same client.
    String big =
        "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\""
            + "sea ".repeat(100_000)
            + "\"}]}";
    assertUnauthorized(send("POST", "/v1/chat/completions", big, null));
    assertThat(send("POST", "/v1/chat/completions", CHAT, "Bearer " + KEY).statusCode())
        .isEqualTo(200);
  }

  @Test
  void theOpenAiClientSendsTheKeyAndReportsAWrongOneAsUnauthorized() {
    ChatCompletionCreateParams.Builder params =
        ChatCompletionCreateParams.builder()
            .model("m")
            .addUserMessage("Tell me about the sea.")
            .maxCompletionTokens(8);
    OpenAIClient right =
        OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey(KEY).maxRetries(0).build();
    OpenAIClient wrong =
        OpenAIOkHttpClient.builder()
            .baseUrl(server.baseUrl())
            .apiKey("wrong-key")
            .maxRetries(0)
            .build();
    try {
      ChatCompletion completion = right.chat().completions().create(params.build());
      assertThat(completion.choices()).hasSize(1);
      List<ChatCompletionChunk> chunks = new ArrayList<>();
      try (StreamResponse<ChatCompletionChunk> stream =
          right.chat().completions().createStreaming(params.build())) {
        stream.stream().forEach(chunks::add);
      }
      assertThat(chunks).isNotEmpty();

      assertThatThrownBy(() -> wrong.chat().completions().create(params.build()))
          .isInstanceOf(UnauthorizedException.class);
      assertThatThrownBy(
              () -> {
                try (StreamResponse<ChatCompletionChunk> stream =
                    wrong.chat().completions().createStreaming(params.build())) {
                  stream.stream().forEach(chunk -> {});
                }
              })
          .isInstanceOf(UnauthorizedException.class);
    } finally {
      right.close();
      wrong.close();
    }
  }
}
