package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Injected faults over real HTTP. Probabilities are set to 0 or 1 so every assertion is
 * deterministic; delays are asserted only as lower bounds (a timer never fires early).
 */
@Timeout(60)
class FaultInjectionTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String CHAT =
      "{\"model\":\"m\",\"stream\":true,\"min_tokens\":20,\"max_tokens\":20,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.builder(FAST, "m").maxBodyBytes(1 << 20).adminEndpoints(true).start();
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @AfterEach
  void clearFaults() throws Exception {
    send("DELETE", "/admin/faults", null);
  }

  private static HttpResponse<String> send(String method, String path, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> chat() throws Exception {
    return send("POST", "/v1/chat/completions", CHAT);
  }

  private static final String SEARCH_TOOL =
      "[{\"type\":\"function\",\"function\":{\"name\":\"search_documents\","
          + "\"description\":\"Search the knowledge base\",\"parameters\":{\"type\":\"object\","
          + "\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}}}]";

  // Spaced as a client might send them: a repeat must carry exactly these characters.
  private static final String SEARCH_ARGUMENTS = "{\"query\": \"tides\"}";

  /** A chat about tides, after the model's search and the search's result. */
  private static ObjectNode afterToolResult(boolean stream) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("model", "m").put("stream", stream);
    ArrayNode messages = body.putArray("messages");
    messages.addObject().put("role", "user").put("content", "Search the knowledge base: tides?");
    ObjectNode assistant = messages.addObject().put("role", "assistant");
    assistant.putNull("content");
    ObjectNode call = assistant.putArray("tool_calls").addObject();
    call.put("id", "call_first").put("type", "function");
    call.putObject("function").put("name", "search_documents").put("arguments", SEARCH_ARGUMENTS);
    messages
        .addObject()
        .put("role", "tool")
        .put("tool_call_id", "call_first")
        .put("content", "Tides rise twice a day.");
    body.set("tools", JSON.readTree(SEARCH_TOOL));
    return body;
  }

  /** The choice of a whole (not streamed) chat completion. */
  private static JsonNode choice(ObjectNode body) throws Exception {
    HttpResponse<String> response = send("POST", "/v1/chat/completions", body.toString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).at("/choices/0");
  }

  @Test
  void injectedErrorsUseOpenAiStatusesAndAreCounted() throws Exception {
    for (String[] fault :
        new String[][] {
          {"rate429", "429", "RateLimitError", "http_429"},
          {"rate500", "500", "InternalServerError", "http_500"},
          {"rate503", "503", "ServiceUnavailableError", "http_503"}
        }) {
      double before = injected(fault[3]);
      assertThat(send("PUT", "/admin/faults", "{\"" + fault[0] + "\":1}").statusCode())
          .isEqualTo(200);
      HttpResponse<String> response = chat();
      assertThat(response.statusCode()).isEqualTo(Integer.parseInt(fault[1]));
      JsonNode error = JSON.readTree(response.body());
      assertThat(error.get("type").asText()).isEqualTo(fault[2]);
      assertThat(error.get("message").asText()).startsWith("injected fault");
      assertThat(injected(fault[3]) - before).isEqualTo(1);
    }
    send("DELETE", "/admin/faults", null);
    assertThat(chat().statusCode()).isEqualTo(200);
  }

  @Test
  void aBurstOf503sAnswersExactlyThatManyRequestsThenServes() throws Exception {
    double before = injected("http_503");
    send("PUT", "/admin/faults", "{\"next503\":3}");
    assertThat(chat().statusCode()).isEqualTo(503);
    assertThat(JSON.readTree(send("GET", "/admin/faults", null).body()).get("next503").asInt())
        .as("what is left of the burst")
        .isEqualTo(2);
    assertThat(chat().statusCode()).isEqualTo(503);
    assertThat(chat().statusCode()).isEqualTo(503);
    assertThat(chat().statusCode()).isEqualTo(200);
    assertThat(chat().statusCode()).isEqualTo(200);
    assertThat(injected("http_503") - before).isEqualTo(3);
  }

  /** The server is shared by this class's tests, so its counters are compared before/after. */
  private static double injected(String kind) throws Exception {
    return MetricsText.value(
        send("GET", "/metrics", null).body(),
        "llm_sim:injected_faults_total{model_name=\"m\",kind=\"" + kind + "\"}");
  }

  @Test
  void injected429sAnd503sCarryRetryAfterWhenAsked() throws Exception {
    assertThat(send("PUT", "/admin/faults", "{\"rate429\":1}").statusCode()).isEqualTo(200);
    assertThat(chat().headers().firstValue("Retry-After")).as("none unless asked").isEmpty();
    send("PUT", "/admin/faults", "{\"rate429\":1,\"retryAfterSeconds\":7}");
    HttpResponse<String> limited = chat();
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("7");
    send("PUT", "/admin/faults", "{\"next503\":1,\"retryAfterSeconds\":3}");
    HttpResponse<String> overloaded = chat();
    assertThat(overloaded.statusCode()).isEqualTo(503);
    assertThat(overloaded.headers().firstValue("Retry-After")).hasValue("3");
    send("PUT", "/admin/faults", "{\"rate500\":1,\"retryAfterSeconds\":3}");
    HttpResponse<String> crashed = chat();
    assertThat(crashed.statusCode()).isEqualTo(500);
    assertThat(crashed.headers().firstValue("Retry-After")).as("not on a 500").isEmpty();
    assertThat(
            JSON.readTree(send("GET", "/admin/faults", null).body())
                .get("retryAfterSeconds")
                .asLong())
        .isEqualTo(3);
  }

  @Test
  void aSlowFirstTokenDelaysTheStreamByAtLeastTheDelay() throws Exception {
    send("PUT", "/admin/faults", "{\"firstTokenDelayMillis\":300}");
    long started = System.nanoTime();
    HttpResponse<String> response = chat();
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat((System.nanoTime() - started) / 1_000_000).isGreaterThanOrEqualTo(300);
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
  }

  @Test
  void aStalledStreamPausesThenDeliversEveryTokenInOrder() throws Exception {
    send("PUT", "/admin/faults", "{\"stallProbability\":1,\"stallMillis\":300}");
    long started = System.nanoTime();
    HttpResponse<String> response = chat();
    assertThat((System.nanoTime() - started) / 1_000_000).isGreaterThanOrEqualTo(300);
    long tokenChunks =
        response
            .body()
            .lines()
            .filter(
                line ->
                    line.startsWith("data: {")
                        && line.contains("\"content\":\"")
                        && !line.contains("\"role\""))
            .count();
    assertThat(tokenChunks).isEqualTo(20);
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
    assertThat(injected("stall")).isEqualTo(1);
  }

  @Test
  void aDroppedConnectionEndsTheStreamWithoutDone() throws Exception {
    send("PUT", "/admin/faults", "{\"dropProbability\":1}");
    try {
      HttpResponse<String> response = chat();
      assertThat(response.body()).doesNotContain("[DONE]");
    } catch (IOException expected) {
      // The client sees the connection close mid-response: what a dropped stream looks like.
    }
    assertThat(injected("drop")).isEqualTo(1);
    send("DELETE", "/admin/faults", null);
    assertThat(chat().body()).endsWith("data: [DONE]\n\n");
  }

  @Test
  void aRepeatingModelCallsTheSameToolWithTheSameArgumentsInsteadOfAnswering() throws Exception {
    assertThat(choice(afterToolResult(false)).get("finish_reason").asText())
        .as("without the fault: an answer from the result")
        .isEqualTo("stop");
    double before = injected("tool_repeat");
    send("PUT", "/admin/faults", "{\"tool_repeat\":1}");
    JsonNode choice = choice(afterToolResult(false));
    assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
    assertThat(choice.at("/message/content").isNull()).isTrue();
    JsonNode call = choice.at("/message/tool_calls/0");
    assertThat(call.at("/function/name").asText()).isEqualTo("search_documents");
    assertThat(call.at("/function/arguments").asText()).isEqualTo(SEARCH_ARGUMENTS);
    assertThat(call.get("id").asText()).startsWith("call_").isNotEqualTo("call_first");
    assertThat(injected("tool_repeat") - before).isEqualTo(1);

    // A request that is not after a tool result is not touched, nor counted.
    ObjectNode first = afterToolResult(false);
    ((ArrayNode) first.get("messages")).remove(2);
    ((ArrayNode) first.get("messages")).remove(1);
    JsonNode firstStep = choice(first);
    assertThat(firstStep.at("/message/tool_calls/0/function/arguments").asText())
        .as("the one-call rule's arguments: the question")
        .contains("tides?");
    assertThat(injected("tool_repeat") - before).isEqualTo(1);
  }

  @Test
  void aRepeatedToolCallStreamsLikeAnyToolCall() throws Exception {
    send("PUT", "/admin/faults", "{\"tool_repeat\":1}");
    HttpResponse<String> response =
        send("POST", "/v1/chat/completions", afterToolResult(true).toString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
    StringBuilder arguments = new StringBuilder();
    String name = null;
    String id = null;
    String finish = null;
    for (String line : response.body().lines().toList()) {
      if (!line.startsWith("data: {")) {
        continue;
      }
      JsonNode chunk = JSON.readTree(line.substring("data: ".length())).at("/choices/0");
      JsonNode call = chunk.at("/delta/tool_calls/0");
      if (call.has("id")) {
        id = call.get("id").asText();
        name = call.at("/function/name").asText();
      }
      arguments.append(call.at("/function/arguments").asText(""));
      if (chunk.hasNonNull("finish_reason")) {
        finish = chunk.get("finish_reason").asText();
      }
    }
    assertThat(name).isEqualTo("search_documents");
    assertThat(id).startsWith("call_").isNotEqualTo("call_first");
    assertThat(arguments.toString()).isEqualTo(SEARCH_ARGUMENTS);
    assertThat(finish).isEqualTo("tool_calls");
  }

  /** With the share at 1, an agent loop that follows the model never gets an answer. */
  @Test
  void atShareOneAnAgentLoopNeverEnds() throws Exception {
    send("PUT", "/admin/faults", "{\"tool_repeat\":1}");
    ObjectNode body = afterToolResult(false);
    ArrayNode messages = (ArrayNode) body.get("messages");
    Set<String> ids = new HashSet<>();
    for (int step = 0; step < 10; step++) {
      JsonNode choice = choice(body);
      assertThat(choice.get("finish_reason").asText()).as("step %d", step).isEqualTo("tool_calls");
      JsonNode call = choice.at("/message/tool_calls/0");
      assertThat(call.at("/function/arguments").asText()).isEqualTo(SEARCH_ARGUMENTS);
      assertThat(ids.add(call.get("id").asText())).as("a new call id each time").isTrue();
      messages.add(choice.get("message"));
      messages
          .addObject()
          .put("role", "tool")
          .put("tool_call_id", call.get("id").asText())
          .put("content", "Tides rise twice a day.");
    }
  }

  @Test
  void badPlansAreRefusedAndTheOldPlanStays() throws Exception {
    send("PUT", "/admin/faults", "{\"rate503\":0.25}");
    for (String bad :
        new String[] {
          "{\"rate503\":1.5}",
          "{\"rate5O3\":0.1}",
          "{\"rate429\":0.6,\"rate500\":0.6}",
          "{\"stallMillis\":-1}",
          "{\"rate503\":\"high\"}",
          "{\"next503\":-1}",
          "{\"next503\":1.5}",
          "{\"retryAfterSeconds\":-1}",
          "{\"retryAfterSeconds\":2.5}",
          "{\"tool_repeat\":1.5}",
          "{\"tool_repeat\":-0.1}",
          "{\"tool_repeat\":\"always\"}",
          "{\"toolRepeat\":0.5}",
          "[1]",
          "nope"
        }) {
      HttpResponse<String> response = send("PUT", "/admin/faults", bad);
      assertThat(response.statusCode()).as(bad).isEqualTo(400);
      assertThat(JSON.readTree(response.body()).get("message").asText())
          .startsWith("invalid fault plan");
    }
    assertThat(JSON.readTree(send("GET", "/admin/faults", null).body()).get("rate503").asDouble())
        .isEqualTo(0.25);
  }

  @Test
  void theToolRepeatShareIsReadBack() throws Exception {
    assertThat(
            JSON.readTree(send("GET", "/admin/faults", null).body()).get("tool_repeat").asDouble())
        .as("0 unless set")
        .isZero();
    send("PUT", "/admin/faults", "{\"tool_repeat\":0.3}");
    assertThat(
            JSON.readTree(send("GET", "/admin/faults", null).body()).get("tool_repeat").asDouble())
        .isEqualTo(0.3);
  }
}
