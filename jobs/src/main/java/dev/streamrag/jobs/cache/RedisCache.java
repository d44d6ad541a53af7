package dev.streamrag.jobs.cache;

import dev.streamrag.jobs.resilience.ServiceBreaker;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A non-blocking byte cache on Redis (Lettuce). Reads never fail: a Redis that is down, slow or
 * erroring yields {@link CacheLookup.Status#UNAVAILABLE} within the command timeout, and writes
 * then complete with false, so the pipeline keeps answering without the cache.
 *
 * <p>Commands are rejected at once while disconnected (instead of Lettuce's default of queueing
 * them until it reconnects), and Lettuce reconnects in the background. If Redis is not there at
 * start, a new connection is tried at most every {@code reconnectInterval}.
 *
 * <p>Every command, connecting included, is bounded by the timeout as a whole: a Redis that accepts
 * connections but never answers (a hung server, a partition that drops packets) costs a request at
 * most the timeout. After most recent commands failed, a {@link ServiceBreaker} answers UNAVAILABLE
 * at once for a few seconds, so then it costs nothing.
 */
public final class RedisCache implements AutoCloseable {
  private static final RedisCodec<String, byte[]> CODEC =
      RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  private final RedisClient client;
  private final RedisURI redisUri;
  private final Duration reconnectInterval;
  private final long timeoutMillis;
  private final ServiceBreaker breaker = ServiceBreaker.of("redis", Duration.ofSeconds(5));
  private final AtomicLong nextConnectAttemptNanos = new AtomicLong();
  private volatile CompletableFuture<StatefulRedisConnection<String, byte[]>> connection;

  private RedisCache(Builder builder) {
    this.reconnectInterval = builder.reconnectInterval;
    this.timeoutMillis = builder.timeout.toMillis();
    this.redisUri = builder.endpoint.toRedisUri();
    this.client = RedisClient.create();
    ClientOptions.Builder options =
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(builder.timeout));
    if (builder.endpoint.sslOptions() != null) {
      options.sslOptions(builder.endpoint.sslOptions());
    }
    client.setOptions(options.build());
    client.setDefaultTimeout(builder.timeout);
    this.connection = connect();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a cache; {@link #build()} checks every setting. */
  public static final class Builder {
    private RedisEndpoint endpoint;
    private Duration timeout = Duration.ofMillis(50);
    private Duration reconnectInterval = Duration.ofSeconds(5);

    /** {@code redis://host:port} (or {@code rediss://} for TLS), without a login. */
    public Builder uri(String uri) {
      return endpoint(RedisEndpoint.of(uri));
    }

    /** Where Redis is and how to log in; the password is read when the cache is built. */
    public Builder endpoint(RedisEndpoint endpoint) {
      this.endpoint = endpoint;
      return this;
    }

    /** Longest a command may take before it counts as UNAVAILABLE (default 50 ms). */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** How often to try connecting again when Redis was not there (default 5 s). */
    public Builder reconnectInterval(Duration interval) {
      this.reconnectInterval = interval;
      return this;
    }

    public RedisCache build() {
      Objects.requireNonNull(endpoint, "Redis endpoint is required but not provided.");
      Objects.requireNonNull(timeout, "timeout is required but not provided.");
      Objects.requireNonNull(reconnectInterval, "reconnectInterval is required but not provided.");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive, got " + timeout);
      }
      return new RedisCache(this);
    }
  }

  private CompletableFuture<StatefulRedisConnection<String, byte[]>> connect() {
    nextConnectAttemptNanos.set(System.nanoTime() + reconnectInterval.toNanos());
    return client.connectAsync(CODEC, redisUri).toCompletableFuture();
  }

  /** The connection, or a failed future; retries a failed start-up connect now and then. */
  private CompletableFuture<StatefulRedisConnection<String, byte[]>> connection() {
    CompletableFuture<StatefulRedisConnection<String, byte[]>> current = connection;
    if (current.isCompletedExceptionally()
        && System.nanoTime() - nextConnectAttemptNanos.get() > 0) {
      synchronized (this) {
        if (connection == current) {
          connection = connect();
        }
        current = connection;
      }
    }
    return current;
  }

  public CompletableFuture<CacheLookup> get(String key) {
    return breaker
        .call(
            () ->
                connection()
                    .thenCompose(c -> c.async().get(key).toCompletableFuture())
                    .orTimeout(timeoutMillis, TimeUnit.MILLISECONDS))
        .handle(
            (value, error) -> {
              if (error != null) {
                return CacheLookup.unavailable(error);
              }
              return value == null ? CacheLookup.MISS : CacheLookup.hit(value);
            });
  }

  /** Stores {@code value} for {@code ttl}; completes with false if Redis could not take it. */
  public CompletableFuture<Boolean> put(String key, byte[] value, Duration ttl) {
    return breaker
        .call(
            () ->
                connection()
                    .thenCompose(
                        c ->
                            c.async()
                                .set(key, value, SetArgs.Builder.px(ttl.toMillis()))
                                .toCompletableFuture())
                    .orTimeout(timeoutMillis, TimeUnit.MILLISECONDS))
        .handle((ok, error) -> error == null && "OK".equals(ok));
  }

  @Override
  public void close() {
    CompletableFuture<StatefulRedisConnection<String, byte[]>> current = connection;
    if (current.isDone() && !current.isCompletedExceptionally()) {
      current.join().close();
    }
    client.shutdown();
  }
}
