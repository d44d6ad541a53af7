package dev.streamrag.inference.quota;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenBucketsTest {
  private static int admitted(TokenBuckets buckets, String tenant, int tries, long now) {
    int n = 0;
    for (int i = 0; i < tries; i++) {
      if (buckets.tryTake(tenant, 2, 4, now)) {
        n++;
      }
    }
    return n;
  }

  @Test
  void aFullBucketThenTheRate() {
    TokenBuckets buckets = new TokenBuckets(10);
    assertThat(admitted(buckets, "acme", 10, 1_000)).as("the burst").isEqualTo(4);
    assertThat(admitted(buckets, "acme", 10, 1_499)).as("0.998 tokens: none").isZero();
    assertThat(admitted(buckets, "acme", 10, 1_500)).as("2/s for 0.5 s").isEqualTo(1);
    assertThat(admitted(buckets, "acme", 10, 60_000)).as("never more than the bucket").isEqualTo(4);
  }

  @Test
  void rejectedRequestsTakeNoTokenSoAFloodIsAdmittedAtTheRate() {
    TokenBuckets buckets = new TokenBuckets(10);
    int admitted = 0;
    // 100 tries every 10 ms for 10 s: 4 for the burst, then 2 a second.
    for (long t = 0; t < 10_000; t += 10) {
      admitted += admitted(buckets, "noisy", 100, t);
    }
    assertThat(admitted).isBetween(4 + 19, 4 + 20);
  }

  @Test
  void tenantsHaveBucketsOfTheirOwn() {
    TokenBuckets buckets = new TokenBuckets(10);
    assertThat(admitted(buckets, "noisy", 100, 0)).isEqualTo(4);
    assertThat(admitted(buckets, "quiet", 1, 0)).isEqualTo(1);
  }

  @Test
  void theLeastRecentTenantIsForgottenAsAFullBucket() {
    TokenBuckets buckets = new TokenBuckets(2);
    admitted(buckets, "a", 4, 0);
    admitted(buckets, "b", 4, 0);
    admitted(buckets, "c", 4, 0);
    assertThat(buckets.tenants()).isEqualTo(2);
    assertThat(admitted(buckets, "c", 4, 0)).as("c is remembered: empty").isZero();
    assertThat(admitted(buckets, "a", 4, 0)).as("a was forgotten: full again").isEqualTo(4);
  }

  @Test
  void refillsInSmallStepsAddUp() {
    TokenBuckets buckets = new TokenBuckets(1);
    assertThat(buckets.tryTake("t", 0.1, 1, 0)).isTrue();
    int admitted = 0;
    for (long t = 1; t <= 10_000; t++) { // a try every millisecond for 10 s at 0.1/s
      if (buckets.tryTake("t", 0.1, 1, t)) {
        admitted++;
      }
    }
    assertThat(admitted).isEqualTo(1);
  }
}
