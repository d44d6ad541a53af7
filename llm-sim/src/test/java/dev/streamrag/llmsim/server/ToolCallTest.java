package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The documented tool-call rule, over real HTTP. */
@Timeout(60)
class ToolCallTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String TOOLS =
      "\"tools\":["
          + "{\"type\":\"function\",\"function\":{\"name\":\"search_documents\",\"description\":\"Search the knowledge base\","
          + "\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}},\"required\":[\"query\"]}}},"
          + "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather for a city\","
          + "\"parameters\":{\"type\":\"object\",\"properties\":{\"days\":{\"type\":\"integer\"},\"city\":{\"type\":\"string\"}}}}}]";

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.start(FAST, "m", 0, 1 << 20);
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> chat(String messages, String extra) throws Exception {
    String body = "{\"model\":\"m\",\"messages\":[" + messages + "]," + TOOLS + extra + "}";
    return http.send(
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String user(String text) {
    return "{\"role\":\"user\",\"content\":\"" + text + "\"}";
  }

  @Test
  void autoCallsTheToolWhoseNameAndDescriptionMatchTheQuestion() throws Exception {
    JsonNode body = JSON.readTree(chat(user("What is the weather in Paris?"), "").body());
    JsonNode choice = body.at("/choices/0");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
    assertThat(choice.at("/message/content").isNull()).isTrue();
    JsonNode call = choice.at("/message/tool_calls/0");
    assertThat(call.get("type").asText()).isEqualTo("function");
    assertThat(call.get("id").asText()).startsWith("call_");
    assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
    assertThat(JSON.readTree(call.at("/function/arguments").asText()).get("city").asText())
        .isEqualTo("What is the weather in Paris?");
  }

  @Test
  void afterAToolResultTheModelAnswersFromIt() throws Exception {
    String messages =
        user("What is the weather in Paris?")
            + ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}"
            + ",{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"Paris weather: sunny, 21 C.\"}";
    JsonNode choice = JSON.readTree(chat(messages, "").body()).at("/choices/0");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(choice.at("/message/content").asText()).contains("sunny, 21 C");
  }

  @Test
  void withoutAMatchAutoAnswersInTextAndRequiredCallsTheFirstTool() throws Exception {
    JsonNode auto = JSON.readTree(chat(user("Tell me a joke."), "").body()).at("/choices/0");
    assertThat(auto.get("finish_reason").asText()).isEqualTo("stop");

    JsonNode required =
        JSON.readTree(chat(user("Tell me a joke."), ",\"tool_choice\":\"required\"").body())
            .at("/choices/0");
    assertThat(required.at("/message/tool_calls/0/function/name").asText())
        .isEqualTo("search_documents");

    JsonNode none =
        JSON.readTree(
                chat(user("What is the weather in Paris?"), ",\"tool_choice\":\"none\"").body())
            .at("/choices/0");
    assertThat(none.get("finish_reason").asText()).isEqualTo("stop");
  }

  @Test
  void aNamedToolIsCalledAndUnknownChoicesAreRefused() throws Exception {
    JsonNode named =
        JSON.readTree(
                chat(
                        user("What is the weather in Paris?"),
                        ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"search_documents\"}}")
                    .body())
            .at("/choices/0/message/tool_calls/0/function");
    assertThat(named.get("name").asText()).isEqualTo("search_documents");
    assertThat(JSON.readTree(named.get("arguments").asText()).get("query").asText())
        .isEqualTo("What is the weather in Paris?");

    HttpResponse<String> unknown =
        chat(
            user("hi"),
            ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"launch\"}}");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body()).contains("'launch', which is not in 'tools'");
    assertThat(chat(user("hi"), ",\"tool_choice\":\"sometimes\"").statusCode()).isEqualTo(400);
  }

  @Test
  void streamedToolCallDeltasAssembleToTheSameCall() throws Exception {
    String whole =
        JSON.readTree(chat(user("What is the weather in Paris?"), "").body())
            .at("/choices/0/message/tool_calls/0/function/arguments")
            .asText();
    String stream = chat(user("What is the weather in Paris?"), ",\"stream\":true").body();
    StringBuilder arguments = new StringBuilder();
    String name = null;
    String finish = null;
    for (String line : stream.split("\n")) {
      if (!line.startsWith("data: {")) {
        continue;
      }
      JsonNode choice = JSON.readTree(line.substring(6)).at("/choices/0");
      JsonNode call = choice.at("/delta/tool_calls/0");
      if (!call.isMissingNode()) {
        if (call.has("id")) {
          name = call.at("/function/name").asText();
        }
        arguments.append(call.at("/function/arguments").asText());
      }
      if (!choice.get("finish_reason").isNull()) {
        finish = choice.get("finish_reason").asText();
      }
    }
    assertThat(name).isEqualTo("get_weather");
    assertThat(arguments.toString()).isEqualTo(whole);
    assertThat(finish).isEqualTo("tool_calls");
    assertThat(stream.strip()).endsWith("data: [DONE]");
  }
}
