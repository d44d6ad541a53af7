package dev.streamrag.inference.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RequestsInFlightTest {

  @Test
  void aSecondRequestWithTheSameIdBeforeTheDeadlineIsADuplicate() {
    RequestsInFlight inFlight = new RequestsInFlight(10);
    assertThat(inFlight.admit("a", 1_000, 0)).isTrue();
    assertThat(inFlight.admit("a", 5_000, 500)).isFalse();
    assertThat(inFlight.admit("b", 1_000, 500)).isTrue();
  }

  @Test
  void afterItsDeadlineAnIdMayBeUsedAgain() {
    RequestsInFlight inFlight = new RequestsInFlight(10);
    inFlight.admit("a", 1_000, 0);
    assertThat(inFlight.admit("a", 3_000, 1_000)).isTrue();
    assertThat(inFlight.admit("a", 3_000, 2_000)).isFalse();
  }

  @Test
  void expiredIdsAreForgottenAndTheSetStaysBounded() {
    RequestsInFlight inFlight = new RequestsInFlight(3);
    for (int i = 0; i < 100; i++) {
      inFlight.admit("id-" + i, 1_000_000, 0);
    }
    assertThat(inFlight.size()).isEqualTo(3);
    assertThat(inFlight.admit("id-99", 1_000_000, 1)).isFalse();
    assertThat(inFlight.admit("id-0", 1_000_000, 1)).as("forgotten past capacity").isTrue();

    RequestsInFlight expiring = new RequestsInFlight(100);
    for (int i = 0; i < 5; i++) {
      expiring.admit("e-" + i, 10, 0);
    }
    expiring.admit("late", 10_000, 20);
    assertThat(expiring.size()).isEqualTo(1);
  }

  @Test
  void capacityIsValidated() {
    assertThatThrownBy(() -> new RequestsInFlight(0)).hasMessageContaining("at least 1");
  }
}
