package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code /admin/faults} over real HTTP: absent unless turned on, so that nobody who merely reaches
 * the port can change the fault plan; behind the API key when there is one.
 */
@Timeout(60)
class AdminEndpointsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":5,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
  private static final String KEY = "admin-test-key-5d1e";

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> send(
      SimServer server, String method, String path, String body, String key) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void offByDefaultAdminRoutesAre404AndTheStartPlanStaysInForce() throws Exception {
    FaultPlan always429 = FaultPlan.fromJson(JSON.readTree("{\"rate429\":1}"));
    try (SimServer server = SimServer.builder(FAST, "m").faults(always429).start()) {
      assertThat(server.adminEndpoints()).isFalse();
      for (String[] call :
          new String[][] {{"GET", null}, {"PUT", "{}"}, {"DELETE", null}, {"PUT", "{\"x\":1}"}}) {
        HttpResponse<String> response = send(server, call[0], "/admin/faults", call[1], null);
        assertThat(response.statusCode()).as(call[0]).isEqualTo(404);
        JsonNode error = JSON.readTree(response.body());
        assertThat(error.get("object").asText()).isEqualTo("error");
        assertThat(error.get("type").asText()).isEqualTo("NotFoundError");
        assertThat(error.get("code").asInt()).isEqualTo(404);
        assertThat(error.get("message").asText()).isEqualTo("no route /admin/faults");
      }
      // The plan given at start (as --faults) still works, and the PUT/DELETE changed nothing.
      assertThat(send(server, "POST", "/v1/chat/completions", CHAT, null).statusCode())
          .isEqualTo(429);
    }
  }

  @Test
  void turnedOnTheyReadReplaceAndClearThePlan() throws Exception {
    try (SimServer server = SimServer.builder(FAST, "m").adminEndpoints(true).start()) {
      assertThat(send(server, "PUT", "/admin/faults", "{\"rate503\":1}", null).statusCode())
          .isEqualTo(200);
      assertThat(send(server, "POST", "/v1/chat/completions", CHAT, null).statusCode())
          .isEqualTo(503);
      assertThat(
              JSON.readTree(send(server, "GET", "/admin/faults", null, null).body())
                  .get("rate503")
                  .asDouble())
          .isEqualTo(1.0);
      assertThat(send(server, "DELETE", "/admin/faults", null, null).statusCode()).isEqualTo(200);
      assertThat(send(server, "POST", "/v1/chat/completions", CHAT, null).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void withAnApiKeyTheyNeedTheKey() throws Exception {
    try (SimServer server = SimServer.builder(FAST, "m").adminEndpoints(true).apiKey(KEY).start()) {
      for (String key : new String[] {null, "wrong-key"}) {
        HttpResponse<String> refused = send(server, "PUT", "/admin/faults", "{\"rate503\":1}", key);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(refused.body()).get("error").asText()).isEqualTo("Unauthorized");
        assertThat(send(server, "GET", "/admin/faults", null, key).statusCode()).isEqualTo(401);
        assertThat(send(server, "DELETE", "/admin/faults", null, key).statusCode()).isEqualTo(401);
      }
      // The refused PUTs changed nothing.
      assertThat(send(server, "POST", "/v1/chat/completions", CHAT, KEY).statusCode())
          .isEqualTo(200);

      assertThat(send(server, "PUT", "/admin/faults", "{\"rate503\":1}", KEY).statusCode())
          .isEqualTo(200);
      assertThat(send(server, "POST", "/v1/chat/completions", CHAT, KEY).statusCode())
          .isEqualTo(503);
      assertThat(send(server, "DELETE", "/admin/faults", null, KEY).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void withAnApiKeyButTurnedOffTheyAreStill404() throws Exception {
    try (SimServer server = SimServer.builder(FAST, "m").apiKey(KEY).start()) {
      assertThat(send(server, "PUT", "/admin/faults", "{\"rate503\":1}", KEY).statusCode())
          .isEqualTo(404);
      assertThat(send(server, "GET", "/admin/faults", null, null).statusCode()).isEqualTo(404);
    }
  }
}
