package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gateway whose Kafka bootstrap name does not resolve: kafka-clients refuses to construct any
 * client then, yet the gateway starts, answers 503, keeps trying in the background, and leaves no
 * thread behind when closed.
 */
@Timeout(60)
class GatewayWithoutKafkaTest {
  private static final String KEY = "sk-acme-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final List<String> OWN_THREADS =
      List.of("gateway-", "kafka-", "vert.x-", "vertx-");

  private static Set<Thread> ownThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .filter(t -> OWN_THREADS.stream().anyMatch(t.getName()::startsWith))
        .collect(Collectors.toSet());
  }

  @Test
  void anUnresolvableBootstrapNameServes503AndLeavesNoThreads() throws Exception {
    Set<Thread> before = ownThreads();
    Gateway gateway =
        Gateway.start(
            GatewayConfig.builder()
                .bootstrapServers("no-such-host.invalid:9092")
                .port(0)
                .eventLoops(1)
                .addApiKey(KEY, "acme")
                .kafkaTimeout(Duration.ofMillis(500))
                .healthInterval(Duration.ofMillis(100))
                .build());
    try {
      Thread.sleep(1500); // the background retries run, and fail, a few times
      HttpResponse<String> health = get(gateway.baseUrl() + "/health");
      assertThat(health.statusCode()).isEqualTo(503);
      assertThat(JSON.readTree(health.body()))
          .isEqualTo(JSON.readTree("{\"status\":\"unavailable\",\"kafka\":\"down\"}"));
      HttpResponse<String> chat =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/v1/chat/completions"))
                  .header("Authorization", "Bearer " + KEY)
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(chat.statusCode()).isEqualTo(503);
      assertThat(chat.body()).doesNotContain("no-such-host");
      assertThat(chat.headers().firstValue("x-should-retry")).contains("true");
    } finally {
      gateway.close();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    Set<Thread> left = ownThreads();
    left.removeAll(before);
    while (!left.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
      left = ownThreads();
      left.removeAll(before);
    }
    assertThat(left).extracting(Thread::getName).as("threads left running").isEmpty();
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
