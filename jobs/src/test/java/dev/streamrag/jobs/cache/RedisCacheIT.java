package dev.streamrag.jobs.cache;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.testsupport.BlackholeProxy;
import dev.streamrag.testsupport.RedisServer;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cache against a Redis server of its own (so the test may stop it): hits, misses, expiry, and
 * a Redis that goes away mid-run turning every call into UNAVAILABLE or false, never an exception
 * or a hang.
 */
@Timeout(60)
class RedisCacheIT {
  @Test
  void hitsMissesExpiryAndARedisThatStops() throws Exception {
    RedisServer redis = RedisServer.start(Path.of("target", "servers", "redis-cache-it"));
    try (RedisCache cache =
        RedisCache.builder().uri(redis.uri()).timeout(Duration.ofMillis(500)).build()) {
      assertThat(cache.get("k1").get().status()).isEqualTo(CacheLookup.Status.MISS);
      assertThat(cache.put("k1", "v1".getBytes(UTF_8), Duration.ofMinutes(1)).get()).isTrue();
      CacheLookup hit = cache.get("k1").get();
      assertThat(hit.status()).isEqualTo(CacheLookup.Status.HIT);
      assertThat(new String(hit.value(), UTF_8)).isEqualTo("v1");

      assertThat(cache.put("short", new byte[] {1}, Duration.ofMillis(200)).get()).isTrue();
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (cache.get("short").get().status() == CacheLookup.Status.HIT
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(cache.get("short").get().status()).isEqualTo(CacheLookup.Status.MISS);

      redis.close(); // stopped by PID
      long started = System.nanoTime();
      CacheLookup down = cache.get("k1").get();
      assertThat(down.status()).isEqualTo(CacheLookup.Status.UNAVAILABLE);
      assertThat(down.reason()).isNotBlank();
      assertThat(cache.put("k2", new byte[] {2}, Duration.ofMinutes(1)).get()).isFalse();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    } finally {
      redis.close();
    }
  }

  /**
   * A Redis that accepts connections and never answers (a real server behind a {@link
   * BlackholeProxy}): each call costs at most the timeout, and once the breaker trips, nothing;
   * when Redis answers again the cache comes back by itself.
   */
  @Test
  void aBlackholedRedisCostsAtMostTheTimeoutThenNothing() throws Exception {
    RedisServer redis = RedisServer.start(Path.of("target", "servers", "redis-blackhole-it"));
    java.net.URI target = java.net.URI.create(redis.uri());
    try (BlackholeProxy proxy = BlackholeProxy.start(target.getHost(), target.getPort());
        RedisCache cache =
            RedisCache.builder()
                .uri("redis://" + proxy.address())
                .timeout(Duration.ofMillis(100))
                .build()) {
      // The first connect and handshake may outlast 100 ms on a loaded machine: wait for it.
      long connected = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!cache.put("k", "v".getBytes(UTF_8), Duration.ofMinutes(1)).get()
          && System.nanoTime() < connected) {
        Thread.sleep(100);
      }
      assertThat(cache.get("k").get().status()).isEqualTo(CacheLookup.Status.HIT);

      proxy.setMode(BlackholeProxy.Mode.BLACKHOLE);
      long slowest = 0;
      for (int i = 0; i < 10; i++) {
        long started = System.nanoTime();
        assertThat(cache.get("k").get().status()).isEqualTo(CacheLookup.Status.UNAVAILABLE);
        slowest = Math.max(slowest, System.nanoTime() - started);
      }
      assertThat(Duration.ofNanos(slowest)).isLessThan(Duration.ofSeconds(1));
      long started = System.nanoTime();
      CacheLookup refused = cache.get("k").get();
      assertThat(refused.status()).isEqualTo(CacheLookup.Status.UNAVAILABLE);
      assertThat(refused.reason()).contains("circuit open");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(50));

      proxy.setMode(BlackholeProxy.Mode.FORWARD);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      CacheLookup back = cache.get("k").get();
      while (back.status() != CacheLookup.Status.HIT && System.nanoTime() < deadline) {
        Thread.sleep(200);
        back = cache.get("k").get();
      }
      assertThat(back.status())
          .as("the cache recovers after the blackhole")
          .isEqualTo(CacheLookup.Status.HIT);
    } finally {
      redis.close();
    }
  }

  @Test
  void aRedisThatIsNotThereAtStartIsUnavailableNotAnError() throws Exception {
    try (RedisCache cache =
        RedisCache.builder()
            .uri("redis://127.0.0.1:1")
            .timeout(Duration.ofMillis(200))
            .reconnectInterval(Duration.ofMillis(100))
            .build()) {
      assertThat(cache.get("k").get().status()).isEqualTo(CacheLookup.Status.UNAVAILABLE);
      Thread.sleep(150);
      assertThat(cache.get("k").get().status()).isEqualTo(CacheLookup.Status.UNAVAILABLE);
      assertThat(cache.put("k", new byte[] {1}, Duration.ofSeconds(1)).get()).isFalse();
    }
  }
}
