package dev.streamrag.inference.agent;

import dev.streamrag.jobs.cache.CacheLookup;
import dev.streamrag.jobs.cache.RedisCache;
import dev.streamrag.jobs.cache.RedisEndpoint;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Where an agent request's completed steps are kept (Redis), so that the request, replayed from a
 * checkpoint after a failover, takes them from here instead of making them again. A journal that
 * cannot be reached reads as empty and drops writes: the loop goes on, and a failover would repeat
 * those steps (their tool calls with the same idempotency keys).
 */
interface AgentJournal extends AutoCloseable {
  /** The entry under {@code key}, or null when there is none or the journal cannot be read. */
  CompletableFuture<byte[]> read(String key);

  /** Keeps {@code value} under {@code key}; completes (never fails) once done or given up. */
  CompletableFuture<Void> write(String key, byte[] value);

  @Override
  default void close() {}

  /** Keeps nothing: every replayed step is made again. */
  AgentJournal NONE =
      new AgentJournal() {
        @Override
        public CompletableFuture<byte[]> read(String key) {
          return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> write(String key, byte[] value) {
          return CompletableFuture.completedFuture(null);
        }
      };

  /** The journal in Redis, entries kept for {@code ttl}. */
  static AgentJournal redis(RedisEndpoint endpoint, Duration timeout, Duration ttl) {
    RedisCache redis = RedisCache.builder().endpoint(endpoint).timeout(timeout).build();
    return new AgentJournal() {
      @Override
      public CompletableFuture<byte[]> read(String key) {
        return redis
            .get(key)
            .thenApply(lookup -> lookup.status() == CacheLookup.Status.HIT ? lookup.value() : null);
      }

      @Override
      public CompletableFuture<Void> write(String key, byte[] value) {
        return redis.put(key, value, ttl).thenApply(ok -> null);
      }

      @Override
      public void close() {
        redis.close();
      }
    };
  }
}
