package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.testsupport.LlmSimServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming client, routing and retries against real HTTP servers: llm-sim healthy, llm-sim
 * answering every request with 503, llm-sim whose first token comes late, and a port nobody listens
 * on.
 */
@Timeout(60)
class RoutedChatCallerTest {
  private static final String PROFILE = "qwen2.5-0.5b-l4";
  private static final RetryPolicy RETRY =
      new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(50));

  @TempDir static Path dir;
  private static LlmSimServer healthy;
  private static LlmSimServer failing;
  private static LlmSimServer slow;
  private static StreamingChatClient client;

  @BeforeAll
  static void start() {
    healthy = LlmSimServer.start(dir, PROFILE, "m", null);
    failing = LlmSimServer.start(dir, PROFILE, "m", "{\"rate503\": 1}");
    slow = LlmSimServer.start(dir, PROFILE, "m", "{\"firstTokenDelayMillis\": 5000}");
    client = StreamingChatClient.builder().build();
  }

  @AfterAll
  static void stop() {
    for (LlmSimServer server : new LlmSimServer[] {healthy, failing, slow}) {
      if (server != null) {
        server.close();
      }
    }
  }

  private static ChatCall question(int tokens) {
    return new ChatCall(
        "m",
        List.of(
            new ChatMessage(
                ChatRole.USER, "Where does the river Oslen rise?", null, null, List.of())),
        tokens,
        0.0,
        null,
        7L,
        List.of());
  }

  private static RoutedChatCaller caller(RoutingPolicy policy, URI... endpoints) {
    return new RoutedChatCaller(
        client, new EndpointRouter(List.of(endpoints), policy), RETRY, Duration.ofSeconds(10));
  }

  private static long in(long millis) {
    return System.currentTimeMillis() + millis;
  }

  @Test
  void streamsAnAnswerWithItsTimings() {
    LlmOutcome outcome =
        caller(RoutingPolicy.ROUND_ROBIN, URI.create(healthy.baseUrl()))
            .call(question(16), in(10_000))
            .join();

    assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
    ChatCompletion completion = outcome.completion();
    assertThat(completion.text()).isNotBlank();
    assertThat(completion.finishReason()).isIn("stop", "length");
    assertThat(completion.promptTokens()).isPositive();
    assertThat(completion.completionTokens()).isBetween(1, 16);
    assertThat(completion.ttftMillis()).isPositive();
    assertThat(outcome.retries()).isZero();
    assertThat(outcome.llmMillis()).isGreaterThanOrEqualTo(completion.ttftMillis());
  }

  @Test
  void a503IsRetriedOnTheOtherEndpoint() {
    RoutedChatCaller caller =
        caller(
            RoutingPolicy.ROUND_ROBIN,
            URI.create(failing.baseUrl()),
            URI.create(healthy.baseUrl()));
    for (int i = 0; i < 4; i++) {
      LlmOutcome outcome = caller.call(question(4), in(10_000)).join();
      assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
      assertThat(outcome.endpoint()).isEqualTo(URI.create(healthy.baseUrl()).toString());
    }
    // Retries take turns too, so how many calls meet the 503 first depends on the interleaving.
    assertThat(caller.retriesTotal()).isBetween(1, 4);
    assertThat(caller.router().outstanding()).isZero();
  }

  @Test
  void persistentFailureEndsWithTheLastErrorAfterAllAttempts() {
    LlmOutcome outcome =
        caller(RoutingPolicy.ROUND_ROBIN, URI.create(failing.baseUrl()))
            .call(question(4), in(10_000))
            .join();

    assertThat(outcome.ok()).isFalse();
    assertThat(outcome.timedOut()).isFalse();
    assertThat(outcome.failure().code()).isEqualTo("llm.http_503");
    assertThat(outcome.retries()).isEqualTo(RETRY.maxAttempts() - 1);
  }

  @Test
  void aRefusedConnectionIsRetriedElsewhere() throws IOException {
    URI nobody;
    try (ServerSocket socket = new ServerSocket(0)) {
      nobody = URI.create("http://127.0.0.1:" + socket.getLocalPort());
    }
    LlmOutcome outcome =
        caller(RoutingPolicy.ROUND_ROBIN, nobody, URI.create(healthy.baseUrl()))
            .call(question(4), in(10_000))
            .join();
    assertThat(outcome.ok()).isTrue();

    LlmOutcome alone =
        caller(RoutingPolicy.ROUND_ROBIN, nobody).call(question(4), in(10_000)).join();
    assertThat(alone.failure().code()).isEqualTo("llm.connection");
  }

  @Test
  void anUnknownModelIsNotRetried() {
    ChatCall unknown =
        new ChatCall("no-such-model", question(4).messages(), 4, null, null, null, null);
    LlmOutcome outcome =
        caller(RoutingPolicy.ROUND_ROBIN, URI.create(healthy.baseUrl()))
            .call(unknown, in(10_000))
            .join();

    assertThat(outcome.failure().code()).isEqualTo("llm.http_404");
    assertThat(outcome.failure().retryable()).isFalse();
    assertThat(outcome.retries()).isZero();
  }

  @Test
  void theDeadlineEndsTheCallAsTimedOut() {
    long start = System.nanoTime();
    LlmOutcome outcome =
        caller(RoutingPolicy.ROUND_ROBIN, URI.create(slow.baseUrl()))
            .call(question(4), in(300))
            .join();
    double waitedMillis = (System.nanoTime() - start) / 1e6;

    assertThat(outcome.timedOut()).isTrue();
    assertThat(outcome.failure().code()).isEqualTo("llm.timeout");
    assertThat(waitedMillis).as("ended at the deadline, not at the slow answer").isLessThan(4_000);
  }

  @Test
  void leastOutstandingAvoidsTheBusyEndpoint() {
    URI a = URI.create("http://a:1");
    URI b = URI.create("http://b:1");
    EndpointRouter router = new EndpointRouter(List.of(a, b), RoutingPolicy.LEAST_OUTSTANDING);
    EndpointRouter.Endpoint first = router.acquire(null);
    EndpointRouter.Endpoint second = router.acquire(null);
    assertThat(second).as("both idle: in turn").isNotSameAs(first);
    EndpointRouter.Endpoint busy = router.acquire(null);
    EndpointRouter.Endpoint idler = busy == first ? second : first;
    assertThat(router.acquire(null)).as("the one with fewer in flight").isSameAs(idler);
    assertThat(router.outstanding()).isEqualTo(4);
    router.release(busy);
    router.release(busy);
    assertThat(router.acquire(null)).isSameAs(busy);
  }

  @Test
  void roundRobinTakesTurns() {
    URI a = URI.create("http://a:1");
    URI b = URI.create("http://b:1");
    EndpointRouter router = new EndpointRouter(List.of(a, b), RoutingPolicy.ROUND_ROBIN);
    assertThat(List.of(router.acquire(null), router.acquire(null), router.acquire(null)))
        .extracting(e -> e.baseUrl().getHost())
        .containsExactly("a", "b", "a");
  }
}
