package dev.streamrag.mcptools;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;

/**
 * Counts the MCP requests (POSTs) being answered, so that {@link McpToolsServer#close()} can let
 * them finish before it ends the sessions. The SDK's transport answers a POST before its {@code
 * doPost} returns, so a request counted here has had its answer written when it leaves. Without the
 * wait, a call answered while the sessions close can have its stream ended without the answer, and
 * the SDK's client then waits for it until its own request timeout.
 */
final class InFlightRequests extends HttpFilter {
  private final Object lock = new Object();
  private int inFlight;

  @Override
  protected void doFilter(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (!"POST".equals(request.getMethod())) {
      chain.doFilter(request, response); // a GET is a client's standing stream, never finished
      return;
    }
    synchronized (lock) {
      inFlight++;
    }
    try {
      chain.doFilter(request, response);
    } finally {
      synchronized (lock) {
        inFlight--;
        lock.notifyAll();
      }
    }
  }

  /** Waits until no POST is being answered, at most {@code timeout}; true if none is. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        lock.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }
}
