package dev.streamrag.gateway.exchange;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The open exchanges of one gateway by requestId, at most {@code maxOpen} of them. Event loops add
 * and remove; the pieces consumer thread looks up.
 */
public final class ExchangeRegistry {
  private final Map<String, Exchange> open = new ConcurrentHashMap<>();
  private final AtomicInteger count = new AtomicInteger();
  private final int maxOpen;

  public ExchangeRegistry(int maxOpen) {
    if (maxOpen < 1) {
      throw new IllegalArgumentException("maxOpen must be at least 1, got " + maxOpen);
    }
    this.maxOpen = maxOpen;
  }

  /** Adds {@code exchange} unless {@code maxOpen} are open already. */
  public boolean tryAdd(Exchange exchange) {
    if (count.incrementAndGet() > maxOpen) {
      count.decrementAndGet();
      return false;
    }
    if (open.putIfAbsent(exchange.requestId(), exchange) != null) {
      count.decrementAndGet();
      throw new IllegalStateException("requestId " + exchange.requestId() + " is already open");
    }
    return true;
  }

  /** Removes {@code exchange}, if it is the one registered under its requestId. */
  public void remove(Exchange exchange) {
    if (open.remove(exchange.requestId(), exchange)) {
      count.decrementAndGet();
    }
  }

  /** The open exchange of {@code requestId}, or null. */
  public Exchange get(String requestId) {
    return open.get(requestId);
  }

  /** The exchanges open at this moment. */
  public List<Exchange> snapshot() {
    return List.copyOf(open.values());
  }

  public int size() {
    return count.get();
  }

  public int maxOpen() {
    return maxOpen;
  }
}
