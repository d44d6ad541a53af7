package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BearerAuthTest {
  private static final String KEY = "sk-sim-3f9c0e1b";
  private final BearerAuth auth = BearerAuth.of(KEY);

  @Test
  void admitsTheKeyAsABearerTokenInAnyCaseOfTheScheme() {
    assertThat(auth.admits("Bearer " + KEY)).isTrue();
    assertThat(auth.admits("bearer " + KEY)).isTrue();
    assertThat(auth.admits("BEARER " + KEY)).isTrue();
  }

  @Test
  void refusesAMissingWrongOrDifferentlySentKey() {
    assertThat(auth.admits(null)).isFalse();
    assertThat(auth.admits("")).isFalse();
    assertThat(auth.admits("Bearer")).isFalse();
    assertThat(auth.admits("Bearer ")).isFalse();
    assertThat(auth.admits(KEY)).isFalse();
    assertThat(auth.admits("Basic " + KEY)).isFalse();
    assertThat(auth.admits("Bearer " + KEY.substring(1))).isFalse();
    assertThat(auth.admits("Bearer " + KEY + "x")).isFalse();
    // As vLLM: everything after the first space is the key, so a second space is part of it.
    assertThat(auth.admits("Bearer  " + KEY)).isFalse();
  }

  @Test
  void anEmptyKeyIsRefusedAndTheKeyIsNeverPrinted() {
    assertThatThrownBy(() -> BearerAuth.of("")).isInstanceOf(IllegalArgumentException.class);
    assertThat(auth.toString()).doesNotContain(KEY);
  }
}
