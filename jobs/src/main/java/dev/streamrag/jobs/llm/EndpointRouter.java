package dev.streamrag.jobs.llm;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chooses the LLM endpoint for each attempt and counts the requests in flight at each. Thread-safe:
 * attempts start on Flink's task thread and end on HTTP client threads. Counts are per task, which
 * is what least-outstanding needs: each task balances its own load.
 */
public final class EndpointRouter {
  /** One endpoint and its in-flight count. */
  public static final class Endpoint {
    private final URI baseUrl;
    private final AtomicInteger outstanding = new AtomicInteger();

    Endpoint(URI baseUrl) {
      this.baseUrl = baseUrl;
    }

    public URI baseUrl() {
      return baseUrl;
    }

    public int outstanding() {
      return outstanding.get();
    }

    @Override
    public String toString() {
      return baseUrl.toString();
    }
  }

  private final List<Endpoint> endpoints = new ArrayList<>();
  private final RoutingPolicy policy;
  private final AtomicLong turn = new AtomicLong();

  public EndpointRouter(List<URI> baseUrls, RoutingPolicy policy) {
    Objects.requireNonNull(policy, "routing policy is required but not provided.");
    if (baseUrls == null || baseUrls.isEmpty()) {
      throw new IllegalArgumentException("at least one LLM endpoint is required");
    }
    baseUrls.forEach(url -> endpoints.add(new Endpoint(url)));
    this.policy = policy;
  }

  /**
   * Takes an endpoint for one attempt, avoiding {@code avoid} (the one that just failed) when there
   * is another; pair with {@link #release}.
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
