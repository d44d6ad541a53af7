package dev.streamrag.schemas.ids;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IdentifiersTest {
  @Test
  void requestIdsAreBoundedAndPrintable() {
    assertThat(Identifiers.validRequestId("r-1")).isTrue();
    assertThat(Identifiers.validRequestId("a:b/c d")).isTrue();
    assertThat(Identifiers.validRequestId("x".repeat(256))).isTrue();
    assertThat(Identifiers.validRequestId("x".repeat(257))).isFalse();
    assertThat(Identifiers.validRequestId("a\u0000b")).isFalse();
    assertThat(Identifiers.validRequestId("r-\ud800")).as("an unpaired surrogate").isFalse();
    assertThat(Identifiers.validRequestId("r-\ud83d\ude00")).as("a pair: an emoji").isTrue();
    assertThat(Identifiers.validRequestId(" ")).isFalse();
    assertThat(Identifiers.validRequestId(null)).isFalse();
  }

  @Test
  void tenantIdsHaveNoSeparators() {
    assertThat(Identifiers.validTenantId("acme")).isTrue();
    assertThat(Identifiers.validTenantId("acme-eu.prod_2")).isTrue();
    for (String bad : new String[] {"acme:x", "a/b", "a b", "*", ".hidden", "", "x".repeat(65)}) {
      assertThat(Identifiers.validTenantId(bad)).as(bad).isFalse();
    }
  }

  @Test
  void docIdsAllowPathsAndSeparatorsButNoControlsOrBrokenText() {
    for (String good :
        new String[] {
          "d1",
          "guides/setup.md",
          "a:b:c",
          "confluence:1234",
          "Über uns.md",
          "文档-1",
          "😀 notes",
          "x".repeat(256),
          "文".repeat(133)
        }) {
      assertThat(Identifiers.validDocId(good)).as(good).isTrue();
    }
    for (String bad :
        new String[] {
          "",
          " ",
          "x".repeat(257),
          "文".repeat(134), // 402 bytes in UTF-8
          "a\u0000b",
          "a\nb",
          "a\u0085b",
          "a\uD800b",
          "a\uDC00",
          "bad\uFFFD"
        }) {
      assertThat(Identifiers.validDocId(bad)).as(bad).isFalse();
    }
    assertThat(Identifiers.validDocId(null)).isFalse();
  }

  @Test
  void clippingBoundsTheLengthAndHidesControlCharacters() {
    assertThat(Identifiers.clip("abcdef", 4)).isEqualTo("abc…");
    assertThat(Identifiers.clip("a\u0000\nb", 10)).isEqualTo("a??b");
    assertThat(Identifiers.clip(null, 4)).isNull();
  }
}
