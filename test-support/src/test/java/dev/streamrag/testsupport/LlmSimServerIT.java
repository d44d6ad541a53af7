package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The llm-sim fixture: faults changed at run time, with and without an API key. */
@Timeout(120)
class LlmSimServerIT {
  private static final String KEY = "sk-fixture-test-0b4d";
  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":4,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dir;

  private static int chat(LlmSimServer server, String key) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(CHAT));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void setFaultsWorksOnAServerWithoutAKey() throws Exception {
    try (LlmSimServer server = LlmSimServer.start(dir, "qwen2.5-0.5b-l4", "m", null)) {
      assertThat(chat(server, null)).isEqualTo(200);
      server.setFaults("{\"rate503\": 1}");
      assertThat(chat(server, null)).isEqualTo(503);
      server.setFaults("{}");
      assertThat(chat(server, null)).isEqualTo(200);
    }
  }

  @Test
  void withAKeyClientsNeedItAndSetFaultsSendsIt() throws Exception {
    try (LlmSimServer server =
        LlmSimServer.start(dir, "qwen2.5-0.5b-l4", "m", null, List.of(), KEY)) {
      assertThat(chat(server, null)).isEqualTo(401);
      assertThat(chat(server, "wrong-key")).isEqualTo(401);
      assertThat(chat(server, KEY)).isEqualTo(200);
      server.setFaults("{\"rate503\": 1}");
      assertThat(chat(server, KEY)).isEqualTo(503);
      server.setFaults("{}");
      assertThat(chat(server, KEY)).isEqualTo(200);

      // The key went in a file, not on the command line; the log never shows it.
      String port = server.baseUrl().substring(server.baseUrl().lastIndexOf(':') + 1);
      Path log = dir.resolve("llm-sim-" + port).resolve("llm-sim.log");
      assertThat(Files.readString(log))
          .contains("requires the API key (from --api-key-file)")
          .doesNotContain(KEY);
      assertThat(server.toString()).doesNotContain(KEY);
    }
  }
}
