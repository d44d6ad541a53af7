package dev.streamrag.inference.quota;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One token bucket per tenant, for one task: a request takes a token or is over the rate; tokens
 * come back at the rate up to the bucket's size. A rejected request takes none, so a tenant sending
 * flat out is admitted at exactly its rate.
 *
 * <p>Bounded: past {@code maxTenants} the tenant seen least recently is forgotten, which is the
 * same as a full bucket (it may then send one burst more). Not thread-safe: one task thread uses
 * it.
 */
final class TokenBuckets {
  private static final double EPSILON = 1e-9;
  private final int maxTenants;
  private final LinkedHashMap<String, Bucket> buckets;

  TokenBuckets(int maxTenants) {
    if (maxTenants < 1) {
      throw new IllegalArgumentException("maxTenants must be at least 1, was " + maxTenants);
    }
    this.maxTenants = maxTenants;
    this.buckets =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
            return size() > TokenBuckets.this.maxTenants;
          }
        };
  }

  /**
   * Takes a token from {@code tenant}'s bucket if it holds one.
   *
   * @param ratePerSecond tokens added per second
   * @param size most tokens the bucket holds (a new bucket starts full)
   * @param nowMillis the task's clock
   */
  boolean tryTake(String tenant, double ratePerSecond, double size, long nowMillis) {
    Bucket bucket = buckets.get(tenant);
    if (bucket == null) {
      bucket = new Bucket(size, nowMillis);
      buckets.put(tenant, bucket);
    } else if (nowMillis > bucket.refilledAt) {
      bucket.tokens =
          Math.min(size, bucket.tokens + (nowMillis - bucket.refilledAt) / 1000.0 * ratePerSecond);
      bucket.refilledAt = nowMillis;
    } else {
      bucket.tokens = Math.min(size, bucket.tokens); // the size may have changed; the clock not
    }
    if (bucket.tokens >= 1 - EPSILON) { // a refill summed in steps may fall short by a rounding
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return true;
    }
    return false;
  }

  int tenants() {
    return buckets.size();
  }

  private static final class Bucket {
    double tokens;
    long refilledAt;

    Bucket(double tokens, long refilledAt) {
      this.tokens = tokens;
      this.refilledAt = refilledAt;
    }
  }
}
