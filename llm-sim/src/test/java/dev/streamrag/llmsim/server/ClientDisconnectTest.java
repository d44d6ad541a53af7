package dev.streamrag.llmsim.server;

import static dev.streamrag.llmsim.server.MetricsText.value;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.llmsim.engine.EngineProfile;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that hangs up mid-stream gets its request aborted, as vLLM does: the engine stops
 * generating for it and frees its batch slot, instead of finishing an answer nobody reads.
 */
@Timeout(60)
class ClientDisconnectTest {
  /** 20 ms per step: 500 tokens would take 10 s, far longer than the test waits. */
  private static final EngineProfile SLOW =
      new EngineProfile("slow", 16, 2048, 400, 16, 2048, true, 20_000, 2, 20, 0);

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.start(SLOW, "m", 0, 1 << 20);
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void hangingUpMidStreamAbortsTheRequest() throws Exception {
    String body =
        "{\"model\":\"m\",\"stream\":true,\"min_tokens\":500,\"max_tokens\":500,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  + "Content-Type: application/json\r\nContent-Length: "
                  + body.getBytes(StandardCharsets.UTF_8).length
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      // Read until the first token chunk has arrived, then hang up.
      InputStream in = socket.getInputStream();
      StringBuilder received = new StringBuilder();
      byte[] buffer = new byte[4096];
      while (!received.toString().contains("\"content\":\"") || countChunks(received) < 3) {
        int n = in.read(buffer);
        assertThat(n).as("server closed the stream early").isPositive();
        received.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    }

    String metrics =
        awaitMetric("vllm:request_success_total{model_name=\"m\",finished_reason=\"abort\"}", 1);
    assertThat(value(metrics, "llm_sim:client_disconnects_total{model_name=\"m\"}")).isEqualTo(1);
    String idle = awaitMetric("vllm:num_requests_running{model_name=\"m\"}", 0);
    double generated = value(idle, "vllm:generation_tokens_total{model_name=\"m\"}");
    assertThat(generated).as("tokens generated before the abort").isLessThan(500);
    Thread.sleep(200); // ten more steps' worth: an aborted request generates nothing more
    assertThat(value(scrape(), "vllm:generation_tokens_total{model_name=\"m\"}"))
        .isEqualTo(generated);
    assertThat(server.driver().gauges().aborted()).isEqualTo(1);
  }

  private static int countChunks(CharSequence text) {
    return text.toString().split("data: ", -1).length - 1;
  }

  private static String awaitMetric(String series, double expected) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
    while (true) {
      String metrics = scrape();
      if (value(metrics, series) == expected || Instant.now().isAfter(deadline)) {
        assertThat(value(metrics, series)).as(series).isEqualTo(expected);
        return metrics;
      }
      Thread.sleep(20);
    }
  }

  private static String scrape() throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
