package dev.streamrag.jobs.llm;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chooses the LLM endpoint for each attempt and counts the requests in flight at each. Thread-safe:
 * attempts start on Flink's task thread and end on HTTP client threads. Counts are per task, which
 * is what least-outstanding needs: each task balances its own load.
 *
 * <p>{@link #choose} also skips endpoints that must be left alone: one paused by a {@code
 * Retry-After} ({@link #pause}), and one whose circuit breaker (resilience4j, when enabled) is
 * open; a half-open breaker lets a few probe attempts through. The outcome of every attempt {@link
 * #choose} granted is reported to {@link #release(Endpoint, AttemptResult, long)}, which feeds the
 * breaker. {@link #acquire}/{@link #release(Endpoint)} are the original pair, which ignore pauses
 * and breakers.
 */
public final class EndpointRouter implements AutoCloseable {
  /** How an attempt ended, as the endpoint's circuit breaker counts it. */
  public enum AttemptResult {
    /** The endpoint answered: a completion, or a client error that is not its fault. */
    SUCCESS,
    /** The endpoint failed: 5xx, lost or refused connection, broken or idle stream. */
    FAILURE,
    /** Says nothing about the endpoint: 429 (backpressure), cancelled, the request's deadline. */
    IGNORED
  }

  /** One endpoint: its in-flight count, its circuit breaker and its Retry-After pause. */
  public static final class Endpoint {
    private final int index;
    private final URI baseUrl;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final AtomicLong failedAttempts = new AtomicLong();
    private final CircuitBreaker breaker; // null when breaking is off
    private final long openNanos; // the breaker's open duration
    private volatile long openedAtNanos;
    private final AtomicLong pausedUntilNanos = new AtomicLong();
    private volatile boolean paused;

    Endpoint(int index, URI baseUrl, CircuitBreakerConfig breakerConfig) {
      this.index = index;
      this.baseUrl = baseUrl;
      this.breaker =
          breakerConfig == null ? null : CircuitBreaker.of("llm " + baseUrl, breakerConfig);
      this.openNanos =
          breakerConfig == null
              ? 0
              : TimeUnit.MILLISECONDS.toNanos(
                  breakerConfig.getWaitIntervalFunctionInOpenState().apply(1));
      if (breaker != null) {
        breaker
            .getEventPublisher()
            .onStateTransition(
                event -> {
                  if (event.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                    openedAtNanos = System.nanoTime();
                  }
                });
      }
    }

    /**
     * Whether an attempt could be made now: its breaker is not open, or has been open for its open
     * duration, so the next attempt probes it (the breaker only moves to half-open when asked).
     */
    boolean callable() {
      return !breakerOpen() || System.nanoTime() - openedAtNanos >= openNanos;
    }

    public URI baseUrl() {
      return baseUrl;
    }

    public int outstanding() {
      return outstanding.get();
    }

    /** Attempts sent here that failed (5xx, broken or idle stream, refused connection). */
    public long failedAttempts() {
      return failedAttempts.get();
    }

    /** Whether its breaker is open now (an attempt would be turned away). */
    boolean breakerOpen() {
      return breaker != null && breaker.getState() == CircuitBreaker.State.OPEN;
    }

    /**
     * CLOSED, OPEN, HALF_OPEN (resilience4j's names), or DISABLED without a breaker. An open
     * breaker reads OPEN until the next attempt after its open duration probes it.
     */
    public String breakerState() {
      return breaker == null ? "DISABLED" : breaker.getState().name();
    }

    /** The breaker state as a gauge value: 0 closed, 1 open, 2 half-open, -1 no breaker. */
    public int breakerStateCode() {
      if (breaker == null) {
        return -1;
      }
      return switch (breaker.getState()) {
        case CLOSED -> 0;
        case HALF_OPEN -> 2;
        case OPEN, FORCED_OPEN -> 1;
        default -> 0;
      };
    }

    /** The breaker's failure rate in %, or -1 while it has too few attempts (or no breaker). */
    public float breakerFailureRatePercent() {
      return breaker == null ? -1 : breaker.getMetrics().getFailureRate();
    }

    /** Attempts the breaker turned away since it was made. */
    public long breakerRejections() {
      return breaker == null ? 0 : breaker.getMetrics().getNumberOfNotPermittedCalls();
    }

    /**
     * How much longer a Retry-After keeps this endpoint unused, in ms (0 when it is not paused).
     */
    public long pausedMillis() {
      return TimeUnit.NANOSECONDS.toMillis(pauseRemainingNanos(System.nanoTime()));
    }

    long pauseRemainingNanos(long now) {
      if (!paused) {
        return 0;
      }
      long remaining = pausedUntilNanos.get() - now;
      return Math.max(0, remaining);
    }

    @Override
    public String toString() {
      return baseUrl.toString();
    }
  }

  /**
   * What {@link #choose} found: an endpoint, taken for one attempt; or none, and when one may be
   * free again.
   *
   * @param endpoint the endpoint taken, or null
   * @param waitNanos when none: how long until a paused endpoint's Retry-After ends ({@link
   *     Long#MAX_VALUE} if none is paused, only breakers turned every endpoint away)
   */
  public record Choice(Endpoint endpoint, long waitNanos) {
    public boolean found() {
      return endpoint != null;
    }
  }

  // What the breaker is told of a failure; the attempt's own failure goes to the caller.
  private static final Throwable FAILED =
      new LlmCallException("llm.endpoint_failure", "the attempt failed", true);

  /** PREFIX_AFFINITY's default bound: at most 25% over the average in-flight count. */
  public static final double DEFAULT_LOAD_FACTOR = 1.25;

  private static final int PREFIX_INDEX_BLOCKS = 200_000;

  /** LOAD_AWARE's default: how often the servers' metrics are read. */
  public static final Duration DEFAULT_LOAD_POLL_INTERVAL = Duration.ofSeconds(1);

  private final List<Endpoint> endpoints = new ArrayList<>();
  private final RoutingPolicy policy;
  private final double loadFactor;
  private final PrefixIndex prefixes;
  private final ServerLoad load;
  private final AtomicLong turn = new AtomicLong();

  /** A router without circuit breakers. */
  public EndpointRouter(List<URI> baseUrls, RoutingPolicy policy) {
    this(baseUrls, policy, null);
  }

  /**
   * A router with a circuit breaker per endpoint as {@code settings} say (none if they disable
   * breakers, or if {@code settings} is null).
   */
  public EndpointRouter(List<URI> baseUrls, RoutingPolicy policy, LlmResilienceSettings settings) {
    this(baseUrls, policy, settings, DEFAULT_LOAD_FACTOR);
  }

  /**
   * As above, with PREFIX_AFFINITY's load bound: an endpoint takes a request while its in-flight
   * count stays within {@code loadFactor} (at least 1) times the average.
   */
  public EndpointRouter(
      List<URI> baseUrls, RoutingPolicy policy, LlmResilienceSettings settings, double loadFactor) {
    this(baseUrls, policy, settings, loadFactor, DEFAULT_LOAD_POLL_INTERVAL);
  }

  /**
   * As above, with LOAD_AWARE's poll interval; a LOAD_AWARE router reads its servers' metrics on a
   * daemon thread until {@link #close()}.
   */
  public EndpointRouter(
      List<URI> baseUrls,
      RoutingPolicy policy,
      LlmResilienceSettings settings,
      double loadFactor,
      Duration loadPollInterval) {
    Objects.requireNonNull(policy, "routing policy is required but not provided.");
    if (baseUrls == null || baseUrls.isEmpty()) {
      throw new IllegalArgumentException("at least one LLM endpoint is required");
    }
    check(baseUrls.size(), policy, loadFactor, loadPollInterval);
    CircuitBreakerConfig config =
        settings == null || !settings.circuitBreakerEnabled() ? null : breakerConfig(settings);
    for (URI url : baseUrls) {
      endpoints.add(new Endpoint(endpoints.size(), url, config));
    }
    this.policy = policy;
    this.loadFactor = loadFactor;
    this.prefixes =
        policy == RoutingPolicy.PREFIX_AFFINITY ? new PrefixIndex(PREFIX_INDEX_BLOCKS) : null;
    this.load =
        policy == RoutingPolicy.LOAD_AWARE ? new ServerLoad(baseUrls, loadPollInterval) : null;
  }

  /**
   * The checks the constructor makes of its settings, for a job to make before it is submitted (in
   * a task, a bad setting would restart the task in a loop).
   */
  public static void check(
      int endpoints, RoutingPolicy policy, double loadFactor, Duration loadPollInterval) {
    if (!(loadFactor >= 1.0) || Double.isInfinite(loadFactor)) {
      throw new IllegalArgumentException(
          "llm.affinity-load-factor must be 1 or more, got " + loadFactor);
    }
    if (policy == RoutingPolicy.PREFIX_AFFINITY && endpoints > PrefixIndex.MAX_ENDPOINTS) {
      throw new IllegalArgumentException(
          "PREFIX_AFFINITY routes among at most "
              + PrefixIndex.MAX_ENDPOINTS
              + " endpoints per model, got "
              + endpoints);
    }
    if (policy == RoutingPolicy.LOAD_AWARE
        && (loadPollInterval == null || loadPollInterval.compareTo(Duration.ofMillis(50)) < 0)) {
      throw new IllegalArgumentException(
          "llm.load-poll-interval must be 50 ms or more, got " + loadPollInterval);
    }
  }

  /** Stops reading the servers' metrics (LOAD_AWARE); the router still routes. */
  @Override
  public void close() {
    if (load != null) {
      load.close();
    }
  }

  /**
   * LOAD_AWARE's score of an endpoint: its server's reported load plus this router's requests in
   * flight there; -1 without a fresh reading.
   */
  public double serverLoadScore(Endpoint endpoint) {
    if (load == null) {
      return -1;
    }
    double reported = load.score(endpoint.index);
    return reported < 0 ? -1 : reported + endpoint.outstanding();
  }

  public RoutingPolicy policy() {
    return policy;
  }

  /**
   * Whether {@link #choose(Endpoint, PrefixBlocks.Prefix)} uses the prompt's prefix (worth
   * computing it).
   */
  public boolean usesPrefixes() {
    return prefixes != null;
  }

  private static CircuitBreakerConfig breakerConfig(LlmResilienceSettings settings) {
    return CircuitBreakerConfig.custom()
        .slidingWindow(
            settings.breakerWindowCalls(),
            settings.breakerMinimumCalls(),
            CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .failureRateThreshold(settings.breakerFailureRatePercent())
        .waitDurationInOpenState(settings.breakerOpenDuration())
        .permittedNumberOfCallsInHalfOpenState(settings.breakerHalfOpenCalls())
        // Streams are long and their length is the answer's: slowness is the idle timeouts' job.
        .slowCallRateThreshold(100)
        .slowCallDurationThreshold(Duration.ofDays(1))
        // Open → half-open on the next attempt after the open duration: no scheduler thread.
        .automaticTransitionFromOpenToHalfOpenEnabled(false)
        .writableStackTraceEnabled(false)
        .build();
  }

  /**
   * Takes an endpoint for one attempt, avoiding {@code avoid} (the one that just failed) when there
   * is another; pair with {@link #release(Endpoint)}. Ignores pauses and breakers.
   */
  public Endpoint acquire(Endpoint avoid) {
    int n = endpoints.size();
    int start = (int) Math.floorMod(turn.getAndIncrement(), (long) n);
    Endpoint chosen = null;
    for (int i = 0; i < n; i++) {
      Endpoint candidate = endpoints.get((start + i) % n);
      if (candidate == avoid && n > 1) {
        continue;
      }
      if (policy == RoutingPolicy.ROUND_ROBIN) {
        chosen = candidate;
        break;
      }
      if (chosen == null || candidate.outstanding() < chosen.outstanding()) {
        chosen = candidate;
      }
    }
    chosen.outstanding.incrementAndGet();
    return chosen;
  }

  public void release(Endpoint endpoint) {
    endpoint.outstanding.decrementAndGet();
  }

  /**
   * Takes an endpoint for one attempt in the policy's order, {@code avoid} (the one that just
   * failed) last: the first that is not paused and whose breaker permits the attempt. Report the
   * attempt's end to {@link #release(Endpoint, AttemptResult, long)}.
   */
  public Choice choose(Endpoint avoid) {
    return choose(avoid, null);
  }

  /**
   * As {@link #choose(Endpoint)}, for a prompt whose prefix is {@code prefix} ({@link
   * PrefixBlocks}; null when unknown), which PREFIX_AFFINITY routes by and remembers.
   */
  public Choice choose(Endpoint avoid, PrefixBlocks.Prefix prefix) {
    int n = endpoints.size();
    int start = (int) Math.floorMod(turn.getAndIncrement(), (long) n);
    List<Endpoint> order = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      order.add(endpoints.get((start + i) % n));
    }
    // Counts move while other threads start and end attempts; sorting on a snapshot keeps the
    // comparator consistent (TimSort refuses one whose answers change mid-sort).
    int[] inFlight = new int[n];
    for (Endpoint endpoint : endpoints) {
      inFlight[endpoint.index] = endpoint.outstanding();
    }
    if (policy == RoutingPolicy.LEAST_OUTSTANDING) {
      order.sort(Comparator.comparingInt(e -> inFlight[e.index])); // stable: ties in turn
    } else if (policy == RoutingPolicy.PREFIX_AFFINITY) {
      affinityOrder(order, prefix, inFlight, now());
    } else if (policy == RoutingPolicy.LOAD_AWARE) {
      loadOrder(order, inFlight);
    }
    if (avoid != null && n > 1 && order.remove(avoid)) {
      order.add(avoid);
    }
    long now = System.nanoTime();
    long wait = Long.MAX_VALUE;
    for (Endpoint candidate : order) {
      long paused = candidate.pauseRemainingNanos(now);
      if (paused > 0) {
        wait = Math.min(wait, paused);
        continue;
      }
      if (candidate.breaker != null && !candidate.breaker.tryAcquirePermission()) {
        continue;
      }
      candidate.outstanding.incrementAndGet();
      if (prefixes != null && prefix != null && prefix.blocks().length > 0) {
        prefixes.record(prefix.blocks(), candidate.index);
      }
      return new Choice(candidate, 0);
    }
    return new Choice(null, wait);
  }

  /**
   * Orders {@code order} for PREFIX_AFFINITY: endpoints within the load bound first, by the length
   * of the prompt prefix each likely caches (longest first), then by in-flight count; then the
   * endpoints over the bound, least loaded first. Ties keep the turn order.
   *
   * <p>A match is followed only when it goes past the leading system messages and covers at least
   * half of the hashed prompt (a conversation's earlier turns, the same passages): a system prompt
   * is cheap to prefill anywhere, and following it would send every new prompt to the first
   * endpoint that saw it.
   *
   * <p>The bound, as in consistent hashing with bounded loads (Mirrokni et al.), but without a hash
   * ring: a new prefix goes to the least loaded endpoint. Averaged over the endpoints that can take
   * the request (not paused, breaker not open), so a partial outage does not push every healthy
   * endpoint over it.
   */
  private void affinityOrder(
      List<Endpoint> order, PrefixBlocks.Prefix prefix, int[] inFlight, long now) {
    int n = endpoints.size();
    int[] found =
        prefix == null || prefix.blocks().length == 0
            ? new int[n]
            : prefixes.matched(prefix.blocks(), n);
    int best = 0;
    for (int m : found) {
      best = Math.max(best, m);
    }
    boolean follow = prefix != null && best > prefix.systemBlocks() && best * 2 >= prefix.window();
    int[] matched = follow ? found : new int[n];
    long total = 0;
    int available = 0;
    for (Endpoint endpoint : endpoints) {
      if (endpoint.pauseRemainingNanos(now) == 0 && !endpoint.breakerOpen()) {
        total += inFlight[endpoint.index];
        available++;
      }
    }
    // Taking this request must leave the endpoint within loadFactor x the average, rounded up;
    // in integer thousandths, so that 1.1 x 110 / 2 is 55, not 56.
    long perMille = Math.round(loadFactor * 1000);
    long bound = ceilDiv(perMille * (total + 1), 1000L * Math.max(1, available));
    order.sort(
        Comparator.comparing((Endpoint e) -> inFlight[e.index] + 1 > bound)
            .thenComparingInt((Endpoint e) -> inFlight[e.index] + 1 > bound ? 0 : -matched[e.index])
            .thenComparingInt(e -> inFlight[e.index]));
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }

  private static long now() {
    return System.nanoTime();
  }

  /**
   * Orders {@code order} by the servers' reported load plus in-flight counts; endpoints without a
   * fresh reading come after, by in-flight count. With no reading at all, LEAST_OUTSTANDING.
   */
  private void loadOrder(List<Endpoint> order, int[] inFlight) {
    double[] score = new double[endpoints.size()];
    boolean any = false;
    for (Endpoint endpoint : endpoints) {
      double reported = load.score(endpoint.index);
      score[endpoint.index] = reported < 0 ? -1 : reported + inFlight[endpoint.index];
      any |= score[endpoint.index] >= 0;
    }
    if (!any) {
      order.sort(Comparator.comparingInt(e -> inFlight[e.index]));
      return;
    }
    order.sort(
        Comparator.comparing((Endpoint e) -> score[e.index] < 0)
            .thenComparingDouble(e -> score[e.index] < 0 ? inFlight[e.index] : score[e.index]));
  }

  /** Blocks the PREFIX_AFFINITY index remembers now (0 for other policies). */
  public int rememberedPrefixBlocks() {
    return prefixes == null ? 0 : prefixes.size();
  }

  /**
   * Ends an attempt {@link #choose} granted, {@code durationNanos} long, telling the endpoint's
   * breaker how it went.
   */
  public void release(Endpoint endpoint, AttemptResult result, long durationNanos) {
    endpoint.outstanding.decrementAndGet();
    if (result == AttemptResult.FAILURE) {
      endpoint.failedAttempts.incrementAndGet();
    }
    CircuitBreaker breaker = endpoint.breaker;
    if (breaker == null) {
      return;
    }
    switch (result) {
      case SUCCESS -> breaker.onSuccess(durationNanos, TimeUnit.NANOSECONDS);
      case FAILURE -> breaker.onError(durationNanos, TimeUnit.NANOSECONDS, FAILED);
      case IGNORED -> breaker.releasePermission();
    }
  }

  /** Leaves {@code endpoint} out of {@link #choose} for {@code pause} (a Retry-After). */
  public void pause(Endpoint endpoint, Duration pause) {
    long until = System.nanoTime() + pause.toNanos();
    // A shorter Retry-After arriving later does not cut a longer pause short.
    endpoint.pausedUntilNanos.accumulateAndGet(
        until, (current, next) -> !endpoint.paused || next - current > 0 ? next : current);
    endpoint.paused = true;
  }

  /**
   * How long until some endpoint is free of its Retry-After pause: 0 if one is free now. Breakers
   * are not considered.
   */
  public long nanosUntilUnpaused() {
    long now = System.nanoTime();
    long wait = Long.MAX_VALUE;
    for (Endpoint endpoint : endpoints) {
      wait = Math.min(wait, endpoint.pauseRemainingNanos(now));
    }
    return wait;
  }

  /**
   * Whether some endpoint's breaker would let an attempt through now, a probe after the open
   * duration included: a pool whose servers all failed is tried again once they may be back.
   */
  public boolean anyEndpointCallable() {
    for (Endpoint endpoint : endpoints) {
      if (endpoint.callable()) {
        return true;
      }
    }
    return false;
  }

  /** Requests in flight over all endpoints. */
  public int outstanding() {
    int total = 0;
    for (Endpoint endpoint : endpoints) {
      total += endpoint.outstanding();
    }
    return total;
  }

  public List<Endpoint> endpoints() {
    return List.copyOf(endpoints);
  }
}
