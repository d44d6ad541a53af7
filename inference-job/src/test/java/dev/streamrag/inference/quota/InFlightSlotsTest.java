package dev.streamrag.inference.quota;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InFlightSlotsTest {
  @Test
  void aSlotIsHeldUntilReleasedAndReleasingTwiceIsANoOp() {
    InFlightSlots slots = new InFlightSlots();
    assertThat(slots.hasRoom("acme", 2, 0)).isTrue();
    slots.hold("acme", "r1", 1_000, 0);
    slots.hold("acme", "r2", 1_000, 0);
    assertThat(slots.hasRoom("acme", 2, 0)).isFalse();
    assertThat(slots.hasRoom("globex", 2, 0)).as("per tenant").isTrue();
    assertThat(slots.release("acme", "r1")).isTrue();
    assertThat(slots.release("acme", "r1")).isFalse();
    assertThat(slots.release("acme", "unknown")).isFalse();
    assertThat(slots.release("nobody", "r1")).isFalse();
    assertThat(slots.hasRoom("acme", 2, 0)).isTrue();
    assertThat(slots.held()).isEqualTo(1);
    slots.release("acme", "r2");
    assertThat(slots.held()).isZero();
    assertThat(slots.held("acme")).isZero();
  }

  @Test
  void holdingAnIdTwiceTakesOneSlot() {
    InFlightSlots slots = new InFlightSlots();
    slots.hold("acme", "r1", 1_000, 0);
    slots.hold("acme", "r1", 2_000, 0);
    assertThat(slots.held()).isEqualTo(1);
    slots.release("acme", "r1");
    assertThat(slots.held()).isZero();
  }

  @Test
  void aSlotNeverReleasedExpires() {
    InFlightSlots slots = new InFlightSlots();
    slots.hold("acme", "r1", 1_000, 0);
    slots.hold("acme", "r2", 5_000, 0);
    assertThat(slots.hasRoom("acme", 2, 999)).isFalse();
    assertThat(slots.hasRoom("acme", 2, 1_000)).isTrue();
    assertThat(slots.held("acme")).isEqualTo(1);
    assertThat(slots.expired()).isEqualTo(1);
    assertThat(slots.release("acme", "r1")).as("its late release changes nothing").isFalse();
    assertThat(slots.hasRoom("acme", 1, 4_999)).isFalse();
    assertThat(slots.hasRoom("acme", 1, 5_000)).isTrue();
    assertThat(slots.held()).isZero();
  }

  @Test
  void quietTenantsAreSweptNowAndThen() {
    InFlightSlots slots = new InFlightSlots();
    slots.hold("gone", "r1", 1_000, 0);
    for (int i = 0; i < InFlightSlots.SWEEP_EVERY; i++) {
      slots.hold("busy", "b" + i, 1_000_000, 2_000);
      slots.release("busy", "b" + i);
    }
    assertThat(slots.held("gone")).isZero();
    assertThat(slots.expired()).isEqualTo(1);
  }

  @Test
  void theRegistryFindsATasksLedgerAndARestartReplacesIt() {
    String key = "job/0/1-" + System.nanoTime();
    InFlightSlots first = InFlightSlots.register(key);
    first.hold("acme", "r1", Long.MAX_VALUE, 0);
    InFlightSlots.release(key, "acme", "r1");
    assertThat(first.held()).isZero();
    first.hold("acme", "r2", Long.MAX_VALUE, 0);
    InFlightSlots second = InFlightSlots.register(key); // the task restarted
    InFlightSlots.unregister(key, first); // the old one's close comes late: ignored
    second.hold("acme", "r3", Long.MAX_VALUE, 0);
    InFlightSlots.release(key, "acme", "r2"); // admitted before the restart: nothing to free
    assertThat(second.held()).isEqualTo(1);
    InFlightSlots.release(key, "acme", "r3");
    assertThat(second.held()).isZero();
    InFlightSlots.unregister(key, second);
    InFlightSlots.release(key, "acme", "r3"); // no ledger: a no-op
    InFlightSlots.release("no-such-task", null, null);
  }
}
