package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
    server = SimServer.start(FAST, "m", 0, 1 << 20);
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
}
