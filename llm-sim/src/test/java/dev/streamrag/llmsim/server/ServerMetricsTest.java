package dev.streamrag.llmsim.server;

import static dev.streamrag.llmsim.server.MetricsText.value;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** /metrics uses vLLM's names and its gauges move with load (peers' simulators' stayed at 0). */
@Timeout(60)
class ServerMetricsTest {
  /** 10 ms steps, two sequences at a time: requests must queue. */
  private static final EngineProfile SLOW =
      new EngineProfile("slow", 2, 2048, 400, 16, 2048, true, 10_000, 5, 100, 0);

  @Test
  void gaugesMoveWithLoadAndCountersAddUp() throws Exception {
    try (SimServer server = SimServer.start(SLOW, "m", 0, 1 << 20)) {
      HttpClient http = HttpClient.newHttpClient();
      URI metricsUri = URI.create("http://127.0.0.1:" + server.port() + "/metrics");
      String body =
          "{\"model\":\"m\",\"stream\":true,\"min_tokens\":30,\"max_tokens\":30,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";
      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        inFlight.add(
            http.sendAsync(
                HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }

      double peakRunning = 0;
      double peakWaiting = 0;
      double peakKv = 0;
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (System.nanoTime() < deadline
          && !(peakRunning >= 2 && peakWaiting >= 1 && peakKv > 0)) {
        String metrics =
            http.send(
                    HttpRequest.newBuilder(metricsUri).build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        peakRunning =
            Math.max(peakRunning, value(metrics, "vllm:num_requests_running{model_name=\"m\"}"));
        peakWaiting =
            Math.max(peakWaiting, value(metrics, "vllm:num_requests_waiting{model_name=\"m\"}"));
        peakKv = Math.max(peakKv, value(metrics, "vllm:kv_cache_usage_perc{model_name=\"m\"}"));
      }
      assertThat(peakRunning).isEqualTo(2);
      assertThat(peakWaiting).isGreaterThanOrEqualTo(1);
      assertThat(peakKv).isPositive();

      for (CompletableFuture<HttpResponse<String>> response : inFlight) {
        assertThat(response.get().statusCode()).isEqualTo(200);
        assertThat(response.get().body()).endsWith("data: [DONE]\n\n");
      }
      String metrics =
          http.send(
                  HttpRequest.newBuilder(metricsUri).build(), HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(value(metrics, "vllm:num_requests_running{model_name=\"m\"}")).isZero();
      assertThat(value(metrics, "vllm:generation_tokens_total{model_name=\"m\"}"))
          .isEqualTo(6 * 30);
      assertThat(
              value(
                      metrics,
                      "vllm:request_success_total{model_name=\"m\",finished_reason=\"length\"}")
                  + value(
                      metrics,
                      "vllm:request_success_total{model_name=\"m\",finished_reason=\"stop\"}"))
          .isEqualTo(6);
      assertThat(value(metrics, "vllm:time_to_first_token_seconds_count{model_name=\"m\"}"))
          .isEqualTo(6);
      assertThat(
              value(
                  metrics, "vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"+Inf\"}"))
          .isEqualTo(6);
      assertThat(value(metrics, "vllm:prompt_tokens_total{model_name=\"m\"}")).isPositive();
      // Identical prompts: all but the first find the prompt's full blocks in the prefix cache.
      assertThat(value(metrics, "vllm:prefix_cache_queries_total{model_name=\"m\"}")).isPositive();
    }
  }
}
