package dev.streamrag.jobs.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ServiceBreakerTest {

  @Test
  void afterMostCallsFailedCallsFailAtOnceWithoutReachingTheService() {
    ServiceBreaker breaker = ServiceBreaker.of("svc", Duration.ofMinutes(1));
    AtomicInteger reached = new AtomicInteger();
    for (int i = 0; i < 10; i++) {
      breaker.call(
          () -> {
            reached.incrementAndGet();
            return CompletableFuture.failedFuture(new IllegalStateException("down"));
          });
    }
    assertThat(breaker.isOpen()).isTrue();
    CompletableFuture<String> refused =
        breaker.call(
            () -> {
              reached.incrementAndGet();
              return CompletableFuture.completedFuture("x");
            });
    assertThat(refused).isCompletedExceptionally();
    assertThat(refused)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(ServiceBreaker.OpenException.class);
    assertThat(reached).hasValue(10);
    assertThat(breaker.stateCode()).isEqualTo(2);
  }

  @Test
  void errorsThatDoNotCountLeaveItClosed() {
    ServiceBreaker breaker =
        ServiceBreaker.of(
            "svc", Duration.ofMinutes(1), error -> !(error instanceof IllegalArgumentException));
    for (int i = 0; i < 20; i++) {
      breaker.call(
          () ->
              CompletableFuture.failedFuture(
                  new java.util.concurrent.CompletionException(
                      new IllegalArgumentException("the caller's mistake"))));
    }
    assertThat(breaker.isOpen()).isFalse();
  }

  @Test
  void successesKeepItClosedAndProbesCloseItAgain() throws Exception {
    ServiceBreaker breaker = ServiceBreaker.of("svc", Duration.ofMillis(50));
    for (int i = 0; i < 20; i++) {
      assertThat(breaker.call(() -> CompletableFuture.completedFuture(1)).get()).isEqualTo(1);
    }
    assertThat(breaker.isOpen()).isFalse();
    for (int i = 0; i < 20; i++) {
      breaker.record(false, 1_000);
    }
    assertThat(breaker.isOpen()).isTrue();
    Thread.sleep(80);
    for (int i = 0; i < 3; i++) {
      assertThat(breaker.call(() -> CompletableFuture.completedFuture(1)).get()).isEqualTo(1);
    }
    assertThat(breaker.stateCode()).isZero();
  }
}
