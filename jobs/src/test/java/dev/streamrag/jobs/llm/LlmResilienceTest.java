package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.testsupport.BlackholeProxy;
import dev.streamrag.testsupport.LlmSimServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RoutedChatCaller}'s protections against two real llm-sim servers whose faults each test
 * sets: a slow first token, a stalled stream, a blackholed server (through {@link BlackholeProxy}),
 * 429/503 with {@code Retry-After}, a server that fails every request. Timings are asserted only as
 * generous bounds: lower bounds that a timer cannot beat, upper bounds far below the injected
 * delay.
 */
@Timeout(120)
class LlmResilienceTest {
  private static final String PROFILE = "qwen2.5-0.5b-l4";
  private static final RetryPolicy RETRY =
      new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(50));

  /** Short enough to see, long enough that a healthy llm-sim on a busy machine is never cut. */
  private static final Duration PATIENCE = Duration.ofMillis(1_500);

  @TempDir static Path dir;
  private static LlmSimServer a;
  private static LlmSimServer b;

  @BeforeAll
  static void start() {
    a = LlmSimServer.start(dir, PROFILE, "m", null);
    b = LlmSimServer.start(dir, PROFILE, "m", null);
  }

  @AfterAll
  static void stop() {
    for (LlmSimServer server : new LlmSimServer[] {a, b}) {
      if (server != null) {
        server.close();
      }
    }
  }

  @BeforeEach
  void healthy() {
    a.setFaults("{}");
    b.setFaults("{}");
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
        List.of(),
        true);
  }

  private static URI uri(LlmSimServer server) {
    return URI.create(server.baseUrl());
  }

  private static LlmResilienceSettings.Builder settings() {
    return LlmResilienceSettings.builder().firstTokenTimeout(PATIENCE).idleTimeout(PATIENCE);
  }

  private static RoutedChatCaller caller(
      LlmResilienceSettings settings, RetryPolicy retry, URI... endpoints) {
    return RoutedChatCaller.builder()
        .client(StreamingChatClient.builder().build())
        .endpoints(List.of(endpoints))
        .routing(RoutingPolicy.ROUND_ROBIN)
        .retryPolicy(retry)
        .attemptTimeout(Duration.ofSeconds(30))
        .resilience(settings)
        .build();
  }

  private static long in(long millis) {
    return System.currentTimeMillis() + millis;
  }

  /** Every attempt's endpoint, in order. */
  private static final class Attempts implements AttemptListener {
    final Queue<URI> endpoints = new ConcurrentLinkedQueue<>();

    @Override
    public TextListener attemptStarted(int attempt, URI endpoint) {
      endpoints.add(endpoint);
      return TextListener.NONE;
    }

    long to(LlmSimServer server) {
      return endpoints.stream().filter(uri(server)::equals).count();
    }
  }

  private static EndpointRouter.Endpoint endpoint(RoutedChatCaller caller, URI uri) {
    return caller.router().endpoints().stream()
        .filter(e -> e.baseUrl().equals(uri))
        .findFirst()
        .orElseThrow();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  // --- stream idle timeouts ---------------------------------------------------------------

  @Test
  void aLateFirstTokenIsCutAndRetriedOnTheOtherEndpointUntilItsBreakerOpens() {
    a.setFaults("{\"firstTokenDelayMillis\": 30000}");
    LlmResilienceSettings settings =
        settings().breakerWindowCalls(2).breakerMinimumCalls(2).build();
    try (RoutedChatCaller caller = caller(settings, RETRY, uri(a), uri(b))) {
      Attempts attempts = new Attempts();
      for (int i = 0; i < 6; i++) {
        LlmOutcome outcome = caller.call(question(8), in(20_000), attempts).join();
        assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.endpoint()).isEqualTo(b.baseUrl());
        assertThat(outcome.llmMillis()).as("cut long before the 30 s delay").isLessThan(15_000);
      }
      assertThat(caller.firstTokenTimeouts()).isEqualTo(attempts.to(a)).isPositive();
      assertThat(attempts.to(a))
          .as("two idle timeouts open the slow endpoint's breaker; it gets no more traffic")
          .isEqualTo(2);
      assertThat(endpoint(caller, uri(a)).breakerState()).isEqualTo("OPEN");
      assertThat(endpoint(caller, uri(b)).breakerState()).isEqualTo("CLOSED");
      assertThat(caller.router().outstanding()).isZero();
    }
  }

  @Test
  void aStreamThatStallsAfterItsFirstTokensIsCutAtTheIdleTimeout() {
    a.setFaults("{\"stallProbability\": 1.0, \"stallMillis\": 30000}");
    try (RoutedChatCaller alone =
            caller(settings().build(), new RetryPolicy(1, Duration.ZERO, Duration.ZERO), uri(a));
        RoutedChatCaller both = caller(settings().build(), RETRY, uri(a), uri(b))) {
      LlmOutcome stalled = alone.call(question(40), in(20_000)).join();
      assertThat(stalled.ok()).isFalse();
      assertThat(stalled.timedOut()).isFalse();
      assertThat(stalled.failure().code()).isEqualTo(LlmCallException.STREAM_IDLE);
      assertThat(stalled.failure().retryable()).isTrue();
      assertThat(stalled.failure().getMessage()).contains("stalled");
      assertThat(stalled.llmMillis()).isLessThan(15_000);
      assertThat(alone.idleTimeouts()).isEqualTo(1);
      assertThat(alone.firstTokenTimeouts()).isZero();

      Attempts attempts = new Attempts();
      for (int i = 0; i < 2; i++) {
        LlmOutcome outcome = both.call(question(40), in(20_000), attempts).join();
        assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.endpoint()).isEqualTo(b.baseUrl());
      }
      assertThat(attempts.to(a)).as("round robin sent one of two calls there first").isPositive();
      assertThat(both.idleTimeouts()).isEqualTo(attempts.to(a));
    }
  }

  @Test
  void aBlackholedEndpointIsAbandonedAtTheFirstTokenTimeout() {
    try (BlackholeProxy proxy =
            BlackholeProxy.start("127.0.0.1", uri(a).getPort(), BlackholeProxy.Mode.BLACKHOLE);
        RoutedChatCaller caller =
            caller(
                settings().build(),
                RETRY,
                URI.create("http://127.0.0.1:" + proxy.port()),
                uri(b))) {
      for (int i = 0; i < 2; i++) {
        LlmOutcome outcome = caller.call(question(8), in(20_000)).join();
        assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.endpoint()).isEqualTo(b.baseUrl());
      }
      assertThat(proxy.acceptedConnections()).as("the black hole took a request").isPositive();
      assertThat(caller.firstTokenTimeouts()).isPositive();
    }
  }

  // --- Retry-After --------------------------------------------------------------------------

  @Test
  void retryAfterKeepsTheOnlyEndpointUnusedThatLongThenTheRetrySucceeds() {
    a.setFaults("{\"next503\": 1, \"retryAfterSeconds\": 1}");
    try (RoutedChatCaller caller = caller(settings().build(), RETRY, uri(a))) {
      LlmOutcome outcome = caller.call(question(4), in(20_000)).join();
      assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
      assertThat(outcome.retries()).isEqualTo(1);
      assertThat(outcome.llmMillis())
          .as("the retry waited out Retry-After: 1, not the 50 ms backoff")
          .isGreaterThanOrEqualTo(950);
      assertThat(caller.retryAfterPauses()).isEqualTo(1);
    }
  }

  @Test
  void aRetryAfterPastTheDeadlineEndsTheCallAtOnceWithTheFailure() {
    a.setFaults("{\"next503\": 1, \"retryAfterSeconds\": 30}");
    try (RoutedChatCaller caller = caller(settings().build(), RETRY, uri(a))) {
      LlmOutcome outcome = caller.call(question(4), in(8_000)).join();
      assertThat(outcome.failure().code()).isEqualTo("llm.http_503");
      assertThat(outcome.timedOut()).as("ended now, not by sleeping into the deadline").isFalse();
      assertThat(outcome.llmMillis()).isLessThan(6_000);

      // The endpoint stays paused: a new call makes no attempt and ends at once.
      Attempts attempts = new Attempts();
      LlmOutcome next = caller.call(question(4), in(8_000), attempts).join();
      assertThat(next.failure().code()).isEqualTo(LlmCallException.RETRY_AFTER);
      assertThat(attempts.endpoints).isEmpty();
      assertThat(endpoint(caller, uri(a)).pausedMillis()).isPositive();
    }
  }

  @Test
  void aPausedEndpointIsSkippedWhileTheOtherServesAnd429sDoNotOpenItsBreaker() {
    a.setFaults("{\"rate429\": 1, \"retryAfterSeconds\": 30}");
    LlmResilienceSettings settings =
        settings().breakerWindowCalls(2).breakerMinimumCalls(2).build();
    try (RoutedChatCaller caller = caller(settings, RETRY, uri(a), uri(b))) {
      Attempts attempts = new Attempts();
      for (int i = 0; i < 6; i++) {
        LlmOutcome outcome = caller.call(question(4), in(20_000), attempts).join();
        assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
      }
      assertThat(attempts.to(a)).as("one 429, then the pause").isEqualTo(1);
      assertThat(endpoint(caller, uri(a)).breakerState()).isEqualTo("CLOSED");
    }
  }

  @Test
  void four29sWithoutRetryAfterNeverOpenTheBreaker() {
    a.setFaults("{\"rate429\": 1}");
    LlmResilienceSettings settings =
        settings().breakerWindowCalls(4).breakerMinimumCalls(4).build();
    try (RoutedChatCaller caller =
        caller(settings, new RetryPolicy(1, Duration.ZERO, Duration.ZERO), uri(a))) {
      for (int i = 0; i < 8; i++) {
        assertThat(caller.call(question(4), in(10_000)).join().failure().code())
            .isEqualTo("llm.http_429");
      }
      assertThat(endpoint(caller, uri(a)).breakerState()).isEqualTo("CLOSED");
      assertThat(caller.circuitOpenFailures()).isZero();
    }
  }

  @Test
  void anHonouredRetryAfterIsCapped() {
    a.setFaults("{\"next503\": 1, \"retryAfterSeconds\": 3600}");
    LlmResilienceSettings settings = settings().maxRetryAfter(Duration.ofSeconds(1)).build();
    try (RoutedChatCaller caller = caller(settings, RETRY, uri(a))) {
      LlmOutcome outcome = caller.call(question(4), in(20_000)).join();
      assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
      assertThat(outcome.llmMillis()).isBetween(950.0, 15_000.0);
    }
  }

  // --- retry budget -------------------------------------------------------------------------

  @Test
  void theRetryBudgetStopsAnOutageFromMultiplyingTheLoad() {
    a.setFaults("{\"rate503\": 1}");
    LlmResilienceSettings unlimited =
        settings().circuitBreakerEnabled(false).retryBudgetEnabled(false).build();
    LlmResilienceSettings budgeted =
        settings()
            .circuitBreakerEnabled(false)
            .retryBudgetRatio(0.2)
            .retryBudgetMinPerSecond(0.1) // a floor of one retry in the 10 s window
            .retryBudgetWindow(Duration.ofSeconds(10))
            .build();
    try (RoutedChatCaller without = caller(unlimited, RETRY, uri(a));
        RoutedChatCaller with = caller(budgeted, RETRY, uri(a))) {
      List<LlmOutcome> outcomes = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        without.call(question(4), in(10_000)).join();
        outcomes.add(with.call(question(4), in(10_000)).join());
      }
      assertThat(without.retriesTotal()).as("every call retried twice").isEqualTo(20);
      assertThat(with.retriesTotal()).as("20% of 10 calls, or the floor").isBetween(1, 2);
      assertThat(with.retryBudgetRefusals())
          .as("each call went on retrying until the budget said no")
          .isEqualTo(10);
      assertThat(outcomes)
          .allSatisfy(
              o -> {
                assertThat(o.failure().code()).isEqualTo(LlmCallException.RETRY_BUDGET_EXHAUSTED);
                assertThat(o.failure().getMessage()).contains("llm.http_503");
                assertThat(o.failure().retryable()).isTrue();
              });
    }
  }

  // --- circuit breakers ---------------------------------------------------------------------

  @Test
  void aFailingEndpointsBreakerOpensThenProbesCloseItOnceItRecovers() throws Exception {
    a.setFaults("{\"rate500\": 1}");
    LlmResilienceSettings settings =
        settings()
            .breakerWindowCalls(4)
            .breakerMinimumCalls(4)
            .breakerOpenDuration(Duration.ofSeconds(1))
            .breakerHalfOpenCalls(1)
            .build();
    try (RoutedChatCaller caller = caller(settings, RETRY, uri(a), uri(b))) {
      Attempts attempts = new Attempts();
      for (int i = 0; i < 12; i++) {
        LlmOutcome outcome = caller.call(question(4), in(20_000), attempts).join();
        assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.endpoint()).isEqualTo(b.baseUrl());
        if (endpoint(caller, uri(a)).breakerState().equals("OPEN")) {
          break;
        }
      }
      assertThat(attempts.to(a)).as("four failures in a window of four").isEqualTo(4);
      assertThat(endpoint(caller, uri(a)).breakerState()).isEqualTo("OPEN");
      assertThat(endpoint(caller, uri(a)).breakerFailureRatePercent()).isEqualTo(100f);

      a.setFaults("{}");
      Attempts later = new Attempts();
      await(
          () -> {
            LlmOutcome outcome = caller.call(question(4), in(20_000), later).join();
            assertThat(outcome.ok()).as("%s", outcome.failure()).isTrue();
            return endpoint(caller, uri(a)).breakerState().equals("CLOSED");
          },
          "a probe after the open duration closes the breaker");
      assertThat(later.to(a)).isPositive();
      assertThat(endpoint(caller, uri(a)).breakerStateCode()).isZero();
    }
  }

  @Test
  void whenEveryBreakerIsOpenCallsFailFastWithoutSendingARequest() {
    a.setFaults("{\"rate503\": 1}");
    LlmResilienceSettings settings =
        settings().breakerWindowCalls(4).breakerMinimumCalls(4).build();
    try (RoutedChatCaller caller =
        caller(settings, new RetryPolicy(1, Duration.ZERO, Duration.ZERO), uri(a))) {
      for (int i = 0; i < 4; i++) {
        assertThat(caller.call(question(4), in(10_000)).join().failure().code())
            .isEqualTo("llm.http_503");
      }
      Attempts attempts = new Attempts();
      LlmOutcome outcome = caller.call(question(4), in(10_000), attempts).join();
      assertThat(outcome.failure().code()).isEqualTo(LlmCallException.CIRCUIT_OPEN);
      assertThat(outcome.failure().retryable()).isTrue();
      assertThat(outcome.timedOut()).isFalse();
      assertThat(attempts.endpoints).as("no request sent").isEmpty();
      assertThat(caller.circuitOpenFailures()).isEqualTo(1);
      assertThat(endpoint(caller, uri(a)).breakerStateCode()).isEqualTo(1);
      assertThat(endpoint(caller, uri(a)).breakerRejections()).isPositive();
    }
  }

  // --- close --------------------------------------------------------------------------------

  @Test
  void closeCancelsEveryCallInFlightAndClosesTheirConnections() throws Exception {
    a.setFaults("{\"firstTokenDelayMillis\": 60000}");
    try (BlackholeProxy proxy = BlackholeProxy.start("127.0.0.1", uri(a).getPort())) {
      RoutedChatCaller caller =
          caller(
              settings().firstTokenTimeout(Duration.ofSeconds(60)).build(),
              RETRY,
              URI.create("http://127.0.0.1:" + proxy.port()));
      List<CompletableFuture<LlmOutcome>> outcomes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        outcomes.add(caller.call(question(4), in(90_000)));
      }
      await(() -> proxy.openConnections() == 3, "three streams open");
      assertThat(caller.inFlightCalls()).isEqualTo(3);

      caller.close();

      for (CompletableFuture<LlmOutcome> future : outcomes) {
        LlmOutcome outcome = future.get(5, TimeUnit.SECONDS);
        assertThat(outcome.cancelled()).as("%s", outcome.failure()).isTrue();
        assertThat(outcome.failure().code()).isEqualTo(LlmCallException.CANCELLED);
        assertThat(outcome.timedOut()).isFalse();
      }
      await(() -> proxy.openConnections() == 0, "every stream's connection closed");
      assertThat(caller.cancelledCalls()).isEqualTo(3);
      assertThat(caller.inFlightCalls()).isZero();
      assertThat(caller.router().outstanding()).isZero();
      LlmOutcome afterwards = caller.call(question(4), in(10_000)).get(5, TimeUnit.SECONDS);
      assertThat(afterwards.cancelled()).isTrue();
      assertThat(proxy.acceptedConnections()).as("nothing sent after close").isEqualTo(3);
    }
  }

  @Test
  void aClosedClientCancelsItsStreamsAndRefusesNewOnes() throws Exception {
    a.setFaults("{\"firstTokenDelayMillis\": 60000}");
    StreamingChatClient client = StreamingChatClient.builder().build();
    CompletableFuture<ChatCompletion> stream = client.stream(uri(a), question(4));
    assertThat(client.inFlight()).isEqualTo(1);

    client.close();

    // Cancelled, either directly or through the HTTP exchange it was waiting on (a race between
    // close() and the exchange's own cancellation; both mean the stream was stopped).
    assertThatThrownBy(() -> stream.get(5, TimeUnit.SECONDS))
        .satisfiesAnyOf(
            e -> assertThat(e).isInstanceOf(CancellationException.class),
            e -> assertThat(e).hasMessageContaining("CancellationException"));
    assertThat(client.inFlight()).isZero();
    assertThatThrownBy(() -> client.stream(uri(a), question(4)).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(LlmCallException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void closeCancelsAScheduledRetry() throws Exception {
    a.setFaults("{\"next503\": 1, \"retryAfterSeconds\": 5}");
    RoutedChatCaller caller = caller(settings().build(), RETRY, uri(a));
    Attempts attempts = new Attempts();
    CompletableFuture<LlmOutcome> future = caller.call(question(4), in(30_000), attempts);
    await(() -> caller.retryAfterPauses() == 1, "the 503 came and the retry waits");
    assertThat(future).isNotDone();

    caller.close();

    LlmOutcome outcome = future.get(2, TimeUnit.SECONDS);
    assertThat(outcome.cancelled()).isTrue();
    assertThat(outcome.retries()).as("the retry was scheduled").isEqualTo(1);
    assertThat(outcome.llmMillis()).as("not after the 5 s wait").isLessThan(4_500);
    assertThat(attempts.endpoints).hasSize(1);
  }
}
