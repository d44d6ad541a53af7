package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The settings' defaults and checks, Retry-After parsing, and the retry budget's arithmetic. */
class LlmResilienceSettingsTest {

  @Test
  void defaultsAreTheRecommendedValues() {
    LlmResilienceSettings settings = LlmResilienceSettings.defaults();
    assertThat(settings.firstTokenTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.idleTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(settings.maxRetryAfter()).isEqualTo(Duration.ofSeconds(60));
    assertThat(settings.retryBudgetEnabled()).isTrue();
    assertThat(settings.retryBudgetRatio()).isEqualTo(0.2);
    assertThat(settings.retryBudgetMinPerSecond()).isEqualTo(10);
    assertThat(settings.retryBudgetWindow()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.circuitBreakerEnabled()).isTrue();
    assertThat(settings.breakerWindowCalls()).isEqualTo(20);
    assertThat(settings.breakerMinimumCalls()).isEqualTo(10);
    assertThat(settings.breakerFailureRatePercent()).isEqualTo(50f);
    assertThat(settings.breakerOpenDuration()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.breakerHalfOpenCalls()).isEqualTo(3);
    assertThat(settings.toBuilder().build()).isEqualTo(settings);
  }

  @Test
  void disabledTurnsEveryProtectionOff() {
    LlmResilienceSettings off = LlmResilienceSettings.disabled();
    assertThat(off.firstTokenTimeout()).isZero();
    assertThat(off.idleTimeout()).isZero();
    assertThat(off.maxRetryAfter()).isZero();
    assertThat(off.retryBudgetEnabled()).isFalse();
    assertThat(off.circuitBreakerEnabled()).isFalse();
    assertThat(
            new EndpointRouter(
                    java.util.List.of(java.net.URI.create("http://a:1")),
                    RoutingPolicy.ROUND_ROBIN,
                    off)
                .endpoints()
                .get(0)
                .breakerState())
        .isEqualTo("DISABLED");
  }

  @Test
  void badSettingsFailWithTheSettingsName() {
    assertThatThrownBy(
            () -> LlmResilienceSettings.builder().idleTimeout(Duration.ofSeconds(-1)).build())
        .hasMessageContaining("idleTimeout must not be negative");
    assertThatThrownBy(() -> LlmResilienceSettings.builder().firstTokenTimeout(null).build())
        .hasMessageContaining("firstTokenTimeout is required");
    assertThatThrownBy(() -> LlmResilienceSettings.builder().retryBudgetRatio(-0.1).build())
        .hasMessageContaining("retryBudgetRatio");
    assertThatThrownBy(() -> LlmResilienceSettings.builder().retryBudgetRatio(Double.NaN).build())
        .hasMessageContaining("retryBudgetRatio");
    assertThatThrownBy(
            () -> LlmResilienceSettings.builder().retryBudgetWindow(Duration.ofMillis(10)).build())
        .hasMessageContaining("retryBudgetWindow must be at least 100 ms");
    assertThatThrownBy(
            () ->
                LlmResilienceSettings.builder()
                    .breakerWindowCalls(5)
                    .breakerMinimumCalls(6)
                    .build())
        .hasMessageContaining("breakerMinimumCalls must be between 1 and breakerWindowCalls (5)");
    assertThatThrownBy(() -> LlmResilienceSettings.builder().breakerFailureRatePercent(0).build())
        .hasMessageContaining("breakerFailureRatePercent");
    assertThatThrownBy(
            () -> LlmResilienceSettings.builder().breakerOpenDuration(Duration.ZERO).build())
        .hasMessageContaining("breakerOpenDuration must be positive");
    assertThatThrownBy(() -> LlmResilienceSettings.builder().breakerHalfOpenCalls(0).build())
        .hasMessageContaining("breakerHalfOpenCalls");
  }

  @Test
  void settingsSurviveJavaSerializationAsFlinkShipsThem() throws Exception {
    LlmResilienceSettings settings =
        LlmResilienceSettings.builder().idleTimeout(Duration.ofSeconds(2)).build();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(settings);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertThat(in.readObject()).isEqualTo(settings);
    }
  }

  @Test
  void retryAfterIsReadAsSecondsOrAnHttpDate() {
    Instant now = Instant.parse("2015-10-21T07:27:00Z");
    assertThat(LlmCallException.parseRetryAfter("120", now)).isEqualTo(Duration.ofSeconds(120));
    assertThat(LlmCallException.parseRetryAfter(" 0 ", now)).isEqualTo(Duration.ZERO);
    assertThat(LlmCallException.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now))
        .isEqualTo(Duration.ofSeconds(60));
    assertThat(LlmCallException.parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now))
        .as("a date in the past")
        .isEqualTo(Duration.ZERO);
    assertThat(LlmCallException.parseRetryAfter("99999999999999999999", now))
        .isEqualTo(Duration.ofDays(1));
    assertThat(LlmCallException.parseRetryAfter("-5", now)).isNull();
    assertThat(LlmCallException.parseRetryAfter("soon", now)).isNull();
    assertThat(LlmCallException.parseRetryAfter(null, now)).isNull();
  }

  @Test
  void anHttpFailureKnowsItsStatusAndRetryAfter() {
    LlmCallException limited = LlmCallException.http(429, "slow down", Duration.ofSeconds(3));
    assertThat(limited.httpStatus()).isEqualTo(429);
    assertThat(limited.retryAfter()).hasValue(Duration.ofSeconds(3));
    assertThat(LlmCallException.http(503, "").retryAfter()).isEmpty();
    assertThat(new LlmCallException(LlmCallException.STREAM, "x", true).httpStatus()).isZero();
  }

  @Test
  void whatTheBreakerCountsAsAFailure() {
    assertThat(RoutedChatCaller.verdict(LlmCallException.http(500, "")))
        .isEqualTo(EndpointRouter.AttemptResult.FAILURE);
    assertThat(RoutedChatCaller.verdict(LlmCallException.http(503, "")))
        .isEqualTo(EndpointRouter.AttemptResult.FAILURE);
    assertThat(RoutedChatCaller.verdict(LlmCallException.http(429, "")))
        .as("backpressure, not a fault")
        .isEqualTo(EndpointRouter.AttemptResult.IGNORED);
    assertThat(RoutedChatCaller.verdict(LlmCallException.http(404, "")))
        .as("the endpoint answered")
        .isEqualTo(EndpointRouter.AttemptResult.SUCCESS);
    for (String code :
        new String[] {
          LlmCallException.CONNECTION,
          LlmCallException.STREAM,
          LlmCallException.STREAM_IDLE,
          LlmCallException.ATTEMPT_TIMEOUT
        }) {
      assertThat(RoutedChatCaller.verdict(new LlmCallException(code, "", true)))
          .as(code)
          .isEqualTo(EndpointRouter.AttemptResult.FAILURE);
    }
    for (String code : new String[] {LlmCallException.TIMEOUT, LlmCallException.CANCELLED}) {
      assertThat(RoutedChatCaller.verdict(new LlmCallException(code, "", true)))
          .as(code)
          .isEqualTo(EndpointRouter.AttemptResult.IGNORED);
    }
  }

  @Test
  void theRetryBudgetAllowsItsShareOfCallsOrItsFloorOverASlidingWindow() {
    AtomicLong clock = new AtomicLong(1_000_000_000L);
    RetryBudget budget = new RetryBudget(true, 0.2, 0.1, Duration.ofSeconds(10), clock::get);
    // Floor: 0.1/s over 10 s = one retry, however few calls.
    assertThat(budget.tryRetry()).isTrue();
    assertThat(budget.tryRetry()).isFalse();
    for (int i = 0; i < 20; i++) {
      budget.onCall();
    }
    // 20 calls: 4 retries in the window, one of them already spent.
    assertThat(budget.tryRetry()).isTrue();
    assertThat(budget.tryRetry()).isTrue();
    assertThat(budget.tryRetry()).isTrue();
    assertThat(budget.tryRetry()).isFalse();
    // Once the window has slid past them, calls and retries no longer count.
    clock.addAndGet(Duration.ofSeconds(11).toNanos());
    assertThat(budget.tryRetry()).as("the floor again").isTrue();
    assertThat(budget.tryRetry()).isFalse();

    RetryBudget off = new RetryBudget(false, 0, 0, Duration.ofSeconds(10), clock::get);
    for (int i = 0; i < 100; i++) {
      assertThat(off.tryRetry()).isTrue();
    }
  }
}
