package dev.streamrag.inference.cache;

import dev.streamrag.inference.Stages;
import dev.streamrag.jobs.cache.CacheLookup;
import dev.streamrag.jobs.cache.RedisCache;
import dev.streamrag.jobs.cache.RedisEndpoint;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Looks a request up in the Redis caches, without blocking: its answer in the response cache and,
 * for RAG, its question's vector in the embedding cache, both at once. A cached answer finishes the
 * request with {@code cacheHit=RESPONSE}; a cached vector spares the embedding stage. A Redis that
 * is down or slow counts as a miss (see {@link RedisCache}), so the request goes on.
 */
public final class ResponseCacheLookup extends RichAsyncFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  private final RedisEndpoint redis;
  private final Duration timeout;
  private transient RedisCache cache;
  private transient Counter hits;
  private transient Counter misses;
  private transient Counter unavailable;
  private transient Counter embeddingHits;

  public ResponseCacheLookup(RedisEndpoint redis, Duration timeout) {
    this.redis = redis;
    this.timeout = timeout;
  }

  @Override
  public void open(Configuration parameters) {
    cache = RedisCache.builder().endpoint(redis).timeout(timeout).build();
    var group = getRuntimeContext().getMetricGroup().addGroup("cache");
    hits = group.counter("responseHits");
    misses = group.counter("responseMisses");
    unavailable = group.counter("unavailable");
    embeddingHits = group.counter("embeddingHits");
  }

  @Override
  public void asyncInvoke(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    CompletableFuture<CacheLookup> answer =
        request.getCacheRead() && request.getResponseCacheKey() != null
            ? cache.get(request.getResponseCacheKey())
            : CompletableFuture.completedFuture(null);
    CompletableFuture<CacheLookup> vector =
        request.getEmbeddingCacheKey() != null
            ? cache.get(request.getEmbeddingCacheKey())
            : CompletableFuture.completedFuture(null);
    answer
        .thenCombine(vector, (a, v) -> apply(request, a, v))
        .whenComplete(
            (done, error) -> {
              if (error != null) { // a bug, not Redis: RedisCache never fails a read
                result.completeExceptionally(error);
              } else {
                result.complete(List.of(done));
              }
            });
  }

  private InFlightRequest apply(InFlightRequest request, CacheLookup answer, CacheLookup vector) {
    request.getTimings().setCacheMs(Stages.lap(request));
    count(answer);
    if (answer != null && answer.status() == CacheLookup.Status.HIT) {
      InferenceResponse cached = CachedValues.response(answer.value());
      if (cached != null) {
        hits.inc();
        cached.setRequestId(request.getRequest().getRequestId());
        cached.setTenantId(request.getRequest().getTenantId());
        cached.setCacheHit(CacheHitKind.RESPONSE);
        cached.setUsage(null);
        cached.setRetries(0);
        cached.setLlmEndpoint(null);
        cached.setLlmPool(null);
        request.setResponse(cached);
        return request;
      }
    }
    if (vector != null && vector.status() == CacheLookup.Status.HIT) {
      List<Float> floats = CachedValues.vector(vector.value());
      if (floats != null) {
        embeddingHits.inc();
        request.setQueryVector(floats);
        request.setEmbeddingFromCache(true);
      }
    }
    return request;
  }

  private void count(CacheLookup lookup) {
    if (lookup == null) {
      return;
    }
    switch (lookup.status()) {
      case MISS -> misses.inc();
      case UNAVAILABLE -> unavailable.inc();
      case HIT -> {} // counted once the value decodes
    }
  }

  /**
   * Never reached while Redis answers within its timeout; if it is, the request goes on uncached.
   */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    unavailable.inc();
    result.complete(List.of(request));
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.close();
    }
  }
}
