package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.testsupport.LlmSimServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * LOAD_AWARE against real llm-sim servers: a server busy with another client's requests (which this
 * router's in-flight counts cannot see) reports its queue on /metrics, and the router sends new
 * requests to the idle one.
 */
@Timeout(120)
class LoadAwareRoutingTest {
  @TempDir static Path dir;
  // The CPU profile has 4 slots: a few long requests fill it and the rest wait in its queue.
  private static LlmSimServer busy;
  private static LlmSimServer idle;

  @BeforeAll
  static void start() {
    busy = LlmSimServer.start(dir, "llama-3.2-1b-cpu", "m", null);
    idle = LlmSimServer.start(dir, "llama-3.2-1b-cpu", "m", null);
  }

  @AfterAll
  static void stop() {
    if (busy != null) {
      busy.close();
    }
    if (idle != null) {
      idle.close();
    }
  }

  @Test
  void metricsAreReadAtTheServersRoot() {
    assertThat(ServerLoad.metricsUri(URI.create("http://h:8000/v1")))
        .isEqualTo(URI.create("http://h:8000/metrics"));
    assertThat(ServerLoad.metricsUri(URI.create("http://h:8000/")))
        .isEqualTo(URI.create("http://h:8000/metrics"));
    assertThat(ServerLoad.metricsUri(URI.create("https://gw/openai/v1")))
        .isEqualTo(URI.create("https://gw/openai/metrics"));
    assertThat(ServerLoad.metricsUri(URI.create("https://gw:8443/openai/v1/?api-version=2024")))
        .isEqualTo(URI.create("https://gw:8443/openai/metrics"));
  }

  @Test
  void samplesAreSummedOverModelsAndPrefixNamesAreNotConfused() {
    String exposition =
        """
        # HELP vllm:num_requests_waiting Requests waiting.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{model_name="a"} 3.0
        vllm:num_requests_waiting{model_name="b"} 2.0
        vllm:num_requests_waiting_by_reason{reason="x"} 100.0
        vllm:num_requests_waiting{model_name="c d} e"} 1.0 1700000000000
        vllm:num_requests_waiting{model_name="nan"} NaN
        vllm:kv_cache_usage_perc 0.25
        """;
    // Labels with spaces and braces, a timestamp after the value, a NaN sample skipped.
    assertThat(PrometheusText.sum(exposition, "vllm:num_requests_waiting")).isEqualTo(6.0);
    assertThat(PrometheusText.sum(exposition, "vllm:kv_cache_usage_perc")).isEqualTo(0.25);
    assertThat(PrometheusText.sum(exposition, "vllm:num_preemptions_total")).isNaN();
  }

  @Test
  void aServerBusyWithOthersWorkIsAvoided() throws Exception {
    // Another client fills the busy server: 12 long answers on 4 slots, 8 of them waiting.
    RoutedChatCaller other =
        RoutedChatCaller.builder()
            .client(StreamingChatClient.builder().build())
            .endpoints(List.of(URI.create(busy.baseUrl())))
            .routing(RoutingPolicy.ROUND_ROBIN)
            .retryPolicy(new RetryPolicy(1, Duration.ofMillis(10), Duration.ofMillis(10)))
            .attemptTimeout(Duration.ofSeconds(60))
            .resilience(LlmResilienceSettings.defaults())
            .build();
    List<CompletableFuture<LlmOutcome>> load = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      load.add(
          other.call(
              new ChatCall(MODEL_M, question("long " + i), 200, 0.0, null, null, List.of(), true),
              System.currentTimeMillis() + 60_000));
    }
    try (EndpointRouter router =
        new EndpointRouter(
            List.of(URI.create(busy.baseUrl()), URI.create(idle.baseUrl())),
            RoutingPolicy.LOAD_AWARE,
            null,
            EndpointRouter.DEFAULT_LOAD_FACTOR,
            Duration.ofMillis(100))) {
      EndpointRouter.Endpoint busyEndpoint = router.endpoints().get(0);
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (router.serverLoadScore(busyEndpoint) < 1 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(router.serverLoadScore(busyEndpoint))
          .as("the busy server reports its queue")
          .isGreaterThanOrEqualTo(1);
      for (int i = 0; i < 10; i++) {
        EndpointRouter.Endpoint chosen = router.choose(null).endpoint();
        assertThat(chosen.baseUrl()).isEqualTo(URI.create(idle.baseUrl()));
        router.release(chosen, EndpointRouter.AttemptResult.SUCCESS, 1);
      }
      // Round robin, by comparison, would have sent half of them to the busy server; and a
      // router of its own counts alone sees both as idle.
      assertThat(busyEndpoint.outstanding()).isZero();
    } finally {
      load.forEach(f -> f.cancel(true));
      other.close();
    }
  }

  private static final String MODEL_M = "m";

  private static List<ChatMessage> question(String text) {
    return List.of(new ChatMessage(ChatRole.USER, text, null, null, List.of()));
  }
}
