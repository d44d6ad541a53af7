package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The OpenAI-compatible API over real HTTP on loopback. */
@Timeout(60)
class SimServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "sim-model";

  /** Fast steps (1 ms) so the tests take milliseconds; a 600-token context window. */
  private static final EngineProfile PROFILE =
      new EngineProfile("test", 16, 2048, 200, 16, 600, true, 1000, 2, 20, 0);

  private static final String CONTEXT =
      "Context:\\n[doc-1] Zorblax Industries was founded by Mira Okonkwo in 1987."
          + " [doc-2] The Quillon River is 412 km long.\\n\\nWho founded Zorblax Industries?";

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.start(PROFILE, MODEL, 0, 64 * 1024);
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String chat(String content, String extra) {
    return "{\"model\":\""
        + MODEL
        + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Answer from the context.\"},"
        + "{\"role\":\"user\",\"content\":\""
        + content
        + "\"}]"
        + extra
        + "}";
  }

  @Test
  void chatCompletionAnswersFromTheMatchingContextSentence() throws Exception {
    HttpResponse<String> response =
        post("/v1/chat/completions", chat(CONTEXT, ",\"max_tokens\":100"));
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("model").asText()).isEqualTo(MODEL);
    JsonNode choice = body.get("choices").get(0);
    assertThat(choice.at("/message/role").asText()).isEqualTo("assistant");
    assertThat(choice.at("/message/content").asText()).contains("Mira Okonkwo in 1987");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = body.get("usage");
    assertThat(usage.get("prompt_tokens").asInt()).isPositive();
    assertThat(usage.get("total_tokens").asInt())
        .isEqualTo(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt());
  }

  @Test
  void ignoreEosGeneratesMaxTokensAsVllmsBenchmarksAsk() throws Exception {
    HttpResponse<String> response =
        post("/v1/chat/completions", chat(CONTEXT, ",\"ignore_eos\":true,\"max_tokens\":77"));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(response.body()).at("/usage/completion_tokens").asInt()).isEqualTo(77);
  }

  @Test
  void streamingSendsRoleChunkTokenChunksUsageAndDone() throws Exception {
    HttpResponse<String> response =
        post(
            "/v1/chat/completions",
            chat(
                CONTEXT,
                ",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"min_tokens\":40,\"max_tokens\":100,\"seed\":7"));
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream");

    List<JsonNode> chunks = new ArrayList<>();
    List<String> events = new ArrayList<>();
    for (String line : response.body().split("\n")) {
      if (line.startsWith("data: ")) {
        events.add(line.substring(6));
      }
    }
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    for (String event : events.subList(0, events.size() - 1)) {
      chunks.add(JSON.readTree(event));
    }
    assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    JsonNode usageChunk = chunks.get(chunks.size() - 1);
    assertThat(usageChunk.get("choices")).isEmpty();
    int completionTokens = usageChunk.at("/usage/completion_tokens").asInt();
    assertThat(completionTokens).isBetween(40, 100);

    List<JsonNode> tokenChunks = chunks.subList(1, chunks.size() - 1);
    assertThat(tokenChunks).hasSize(completionTokens);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < tokenChunks.size(); i++) {
      JsonNode choice = tokenChunks.get(i).at("/choices/0");
      text.append(choice.at("/delta/content").asText());
      assertThat(choice.get("finish_reason").isNull()).isEqualTo(i < tokenChunks.size() - 1);
    }
    assertThat(text.toString())
        .startsWith("[doc-1] Zorblax Industries was founded by Mira Okonkwo in 1987.");
    assertThat(tokenChunks.get(tokenChunks.size() - 1).at("/choices/0/finish_reason").asText())
        .isEqualTo("stop");
  }

  @Test
  void maxTokensCutsTheAnswerWithFinishReasonLength() throws Exception {
    JsonNode body =
        JSON.readTree(post("/v1/chat/completions", chat(CONTEXT, ",\"max_tokens\":3")).body());
    assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(3);
  }

  @Test
  void textCompletionsWorkStreamedAndWhole() throws Exception {
    String prompt = "{\"model\":\"" + MODEL + "\",\"prompt\":\"" + CONTEXT + "\",\"max_tokens\":50";
    JsonNode whole = JSON.readTree(post("/v1/completions", prompt + "}").body());
    assertThat(whole.get("object").asText()).isEqualTo("text_completion");
    assertThat(whole.at("/choices/0/text").asText()).contains("Mira Okonkwo");

    String streamed = post("/v1/completions", prompt + ",\"stream\":true}").body();
    StringBuilder text = new StringBuilder();
    for (String line : streamed.split("\n")) {
      if (line.startsWith("data: {")) {
        text.append(JSON.readTree(line.substring(6)).at("/choices/0/text").asText());
      }
    }
    assertThat(streamed.strip()).endsWith("data: [DONE]");
    assertThat(text.toString()).isEqualTo(whole.at("/choices/0/text").asText());
  }

  @Test
  void modelsAndHealth() throws Exception {
    JsonNode models = JSON.readTree(get("/v1/models").body());
    assertThat(models.at("/data/0/id").asText()).isEqualTo(MODEL);
    assertThat(models.at("/data/0/max_model_len").asInt()).isEqualTo(600);
    assertThat(get("/health").statusCode()).isEqualTo(200);
  }

  @Test
  void badRequestsGetVllmStyleErrors() throws Exception {
    assertError(post("/v1/chat/completions", "{not json"), 400, "invalid JSON");
    assertError(post("/v1/chat/completions", "[1,2]"), 400, "must be a JSON object");
    assertError(
        post(
            "/v1/chat/completions",
            "{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
        404,
        "The model `gpt-9` does not exist.");
    assertError(
        post("/v1/chat/completions", chat("hi", ",\"max_tokens\":-5")),
        400,
        "max_tokens must be at least 1");
    assertError(
        post("/v1/chat/completions", chat("hi", ",\"max_tokens\":\"ten\"")),
        400,
        "max_tokens must be an integer");
    assertError(post("/v1/chat/completions", chat("hi", ",\"n\":2")), 400, "only n=1");
    assertError(
        post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[]}"),
        400,
        "non-empty array");
    assertError(
        post("/v1/chat/completions", chat("word ".repeat(700), "")),
        400,
        "maximum context length is 600 tokens");
    assertError(
        post("/v1/chat/completions", chat("hi", ",\"max_tokens\":590")),
        400,
        "maximum context length is 600 tokens");
    assertError(
        post("/v1/chat/completions", chat("hi", ",\"tools\":[{\"type\":\"function\"}]")),
        400,
        "tools[0].function.name is required");
    assertError(
        post(
            "/v1/chat/completions",
            "{\"model\":\""
                + MODEL
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + "x".repeat(70_000)
                + "\"}]}"),
        413,
        "larger than");
    assertError(get("/v1/nothing-here"), 404, "no route");

    // Unknown fields are ignored, as vLLM does.
    assertThat(post("/v1/chat/completions", chat("hi", ",\"frobnicate\":true")).statusCode())
        .isEqualTo(200);
  }

  private static void assertError(HttpResponse<String> response, int status, String message)
      throws Exception {
    assertThat(response.statusCode()).isEqualTo(status);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("object").asText()).isEqualTo("error");
    assertThat(body.get("code").asInt()).isEqualTo(status);
    assertThat(body.get("message").asText()).contains(message);
  }
}
