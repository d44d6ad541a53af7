package dev.streamrag.jobs.llm;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link RoutedChatCaller} protects a request, and the LLM fleet, from failing endpoints:
 * stream idle timeouts that fail an attempt over to another endpoint, {@code Retry-After} honoured,
 * a retry budget so that an outage does not multiply the load, and a circuit breaker per endpoint
 * so that a fast-failing endpoint stops attracting traffic. Immutable; {@link #defaults()} holds
 * the recommended values, {@link #disabled()} the behaviour before these existed. A zero duration
 * turns its timeout off.
 *
 * @param firstTokenTimeout longest an attempt may wait for its first token (the first content
 *     delta) after the request is sent, response headers included (default 10 s; zero: no limit)
 * @param idleTimeout longest an attempt may go without a token once the first has come (default 5
 *     s; zero: no limit)
 * @param maxRetryAfter cap on the pause a 429 or 503's {@code Retry-After} imposes on its endpoint
 *     (default 60 s; zero: the header is ignored)
 * @param retryBudgetEnabled whether retries are rationed (default true)
 * @param retryBudgetRatio retries allowed per first attempt over the window (default 0.2)
 * @param retryBudgetMinPerSecond retries always allowed, per second of the window, however few
 *     calls there were (default 10)
 * @param retryBudgetWindow the sliding window the budget counts over (default 10 s)
 * @param circuitBreakerEnabled whether each endpoint has a circuit breaker (default true)
 * @param breakerWindowCalls the breaker's sliding window, in attempts (default 20)
 * @param breakerMinimumCalls attempts the window must hold before the failure rate counts (default
 *     10)
 * @param breakerFailureRatePercent failure rate at or above which the breaker opens (default 50)
 * @param breakerOpenDuration how long an open breaker turns traffic away before letting probes
 *     through (default 10 s)
 * @param breakerHalfOpenCalls probe attempts a half-open breaker lets through, whose failure rate
 *     closes or reopens it (default 3)
 */
public record LlmResilienceSettings(
    Duration firstTokenTimeout,
    Duration idleTimeout,
    Duration maxRetryAfter,
    boolean retryBudgetEnabled,
    double retryBudgetRatio,
    double retryBudgetMinPerSecond,
    Duration retryBudgetWindow,
    boolean circuitBreakerEnabled,
    int breakerWindowCalls,
    int breakerMinimumCalls,
    float breakerFailureRatePercent,
    Duration breakerOpenDuration,
    int breakerHalfOpenCalls)
    implements Serializable {

  public LlmResilienceSettings {
    notNegative("firstTokenTimeout", firstTokenTimeout);
    notNegative("idleTimeout", idleTimeout);
    notNegative("maxRetryAfter", maxRetryAfter);
    positive("retryBudgetWindow", retryBudgetWindow);
    positive("breakerOpenDuration", breakerOpenDuration);
    if (!(retryBudgetRatio >= 0) || Double.isInfinite(retryBudgetRatio)) {
      throw new IllegalArgumentException(
          "retryBudgetRatio must be a finite number >= 0 (retries per first attempt), got "
              + retryBudgetRatio);
    }
    if (!(retryBudgetMinPerSecond >= 0) || Double.isInfinite(retryBudgetMinPerSecond)) {
      throw new IllegalArgumentException(
          "retryBudgetMinPerSecond must be a finite number >= 0, got " + retryBudgetMinPerSecond);
    }
    if (retryBudgetWindow.toMillis() < 100) {
      throw new IllegalArgumentException(
          "retryBudgetWindow must be at least 100 ms, got " + retryBudgetWindow);
    }
    if (breakerWindowCalls < 1) {
      throw new IllegalArgumentException(
          "breakerWindowCalls must be at least 1, got " + breakerWindowCalls);
    }
    if (breakerMinimumCalls < 1 || breakerMinimumCalls > breakerWindowCalls) {
      throw new IllegalArgumentException(
          "breakerMinimumCalls must be between 1 and breakerWindowCalls ("
              + breakerWindowCalls
              + "), got "
              + breakerMinimumCalls);
    }
    if (!(breakerFailureRatePercent > 0 && breakerFailureRatePercent <= 100)) {
      throw new IllegalArgumentException(
          "breakerFailureRatePercent must be in (0, 100], got " + breakerFailureRatePercent);
    }
    if (breakerHalfOpenCalls < 1) {
      throw new IllegalArgumentException(
          "breakerHalfOpenCalls must be at least 1, got " + breakerHalfOpenCalls);
    }
  }

  /** The recommended settings (each component's default above). */
  public static LlmResilienceSettings defaults() {
    return builder().build();
  }

  /**
   * Everything off: no idle timeouts, {@code Retry-After} ignored, no retry budget, no breakers.
   * What {@link RoutedChatCaller}'s original constructor uses, so that callers built before these
   * settings behave as they did.
   */
  public static LlmResilienceSettings disabled() {
    return builder()
        .firstTokenTimeout(Duration.ZERO)
        .idleTimeout(Duration.ZERO)
        .maxRetryAfter(Duration.ZERO)
        .retryBudgetEnabled(false)
        .circuitBreakerEnabled(false)
        .build();
  }

  /** A builder starting from {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    return new Builder()
        .firstTokenTimeout(firstTokenTimeout)
        .idleTimeout(idleTimeout)
        .maxRetryAfter(maxRetryAfter)
        .retryBudgetEnabled(retryBudgetEnabled)
        .retryBudgetRatio(retryBudgetRatio)
        .retryBudgetMinPerSecond(retryBudgetMinPerSecond)
        .retryBudgetWindow(retryBudgetWindow)
        .circuitBreakerEnabled(circuitBreakerEnabled)
        .breakerWindowCalls(breakerWindowCalls)
        .breakerMinimumCalls(breakerMinimumCalls)
        .breakerFailureRatePercent(breakerFailureRatePercent)
        .breakerOpenDuration(breakerOpenDuration)
        .breakerHalfOpenCalls(breakerHalfOpenCalls);
  }

  /** Builds settings; {@link #build()} checks them all. Setters are named as the components. */
  public static final class Builder {
    private Duration firstTokenTimeout = Duration.ofSeconds(10);
    private Duration idleTimeout = Duration.ofSeconds(5);
    private Duration maxRetryAfter = Duration.ofSeconds(60);
    private boolean retryBudgetEnabled = true;
    private double retryBudgetRatio = 0.2;
    private double retryBudgetMinPerSecond = 10;
    private Duration retryBudgetWindow = Duration.ofSeconds(10);
    private boolean circuitBreakerEnabled = true;
    private int breakerWindowCalls = 20;
    private int breakerMinimumCalls = 10;
    private float breakerFailureRatePercent = 50;
    private Duration breakerOpenDuration = Duration.ofSeconds(10);
    private int breakerHalfOpenCalls = 3;

    private Builder() {}

    public Builder firstTokenTimeout(Duration value) {
      this.firstTokenTimeout = value;
      return this;
    }

    public Builder idleTimeout(Duration value) {
      this.idleTimeout = value;
      return this;
    }

    public Builder maxRetryAfter(Duration value) {
      this.maxRetryAfter = value;
      return this;
    }

    public Builder retryBudgetEnabled(boolean value) {
      this.retryBudgetEnabled = value;
      return this;
    }

    public Builder retryBudgetRatio(double value) {
      this.retryBudgetRatio = value;
      return this;
    }

    public Builder retryBudgetMinPerSecond(double value) {
      this.retryBudgetMinPerSecond = value;
      return this;
    }

    public Builder retryBudgetWindow(Duration value) {
      this.retryBudgetWindow = value;
      return this;
    }

    public Builder circuitBreakerEnabled(boolean value) {
      this.circuitBreakerEnabled = value;
      return this;
    }

    public Builder breakerWindowCalls(int value) {
      this.breakerWindowCalls = value;
      return this;
    }

    public Builder breakerMinimumCalls(int value) {
      this.breakerMinimumCalls = value;
      return this;
    }

    public Builder breakerFailureRatePercent(float value) {
      this.breakerFailureRatePercent = value;
      return this;
    }

    public Builder breakerOpenDuration(Duration value) {
      this.breakerOpenDuration = value;
      return this;
    }

    public Builder breakerHalfOpenCalls(int value) {
      this.breakerHalfOpenCalls = value;
      return this;
    }

    public LlmResilienceSettings build() {
      return new LlmResilienceSettings(
          firstTokenTimeout,
          idleTimeout,
          maxRetryAfter,
          retryBudgetEnabled,
          retryBudgetRatio,
          retryBudgetMinPerSecond,
          retryBudgetWindow,
          circuitBreakerEnabled,
          breakerWindowCalls,
          breakerMinimumCalls,
          breakerFailureRatePercent,
          breakerOpenDuration,
          breakerHalfOpenCalls);
    }
  }

  private static void notNegative(String name, Duration value) {
    Objects.requireNonNull(value, name + " is required but not provided.");
    if (value.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative (zero: off), got " + value);
    }
  }

  private static void positive(String name, Duration value) {
    Objects.requireNonNull(value, name + " is required but not provided.");
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }
}
