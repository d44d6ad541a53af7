package dev.streamrag.gateway.http;

import dev.streamrag.gateway.auth.ApiKeys;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ApiError;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.SecurityPolicyHandler;
import java.util.Objects;
import java.util.Optional;

/**
 * The first handler of the API routes: finds the tenant of the request's {@code Authorization:
 * Bearer} key, or answers 401 before the body is read. Also stamps the arrival time, from which the
 * request's createdAt and its time to first text are measured. Keys are never logged.
 *
 * <p>It is a {@link SecurityPolicyHandler} only so that Vert.x lets it run before the {@code
 * BodyHandler} (it orders handlers by kind and refuses a body handler after a plain one): refusing
 * strangers before reading up to a megabyte from them is the policy.
 */
final class ApiKeyAuthentication implements SecurityPolicyHandler {
  static final String TENANT = "streamrag.tenant";
  static final String ARRIVED_NANOS = "streamrag.arrivedNanos";
  static final String ARRIVED_MILLIS = "streamrag.arrivedMillis";

  private final ApiKeys keys;
  private final GatewayMetrics metrics;
  private final String route;

  ApiKeyAuthentication(ApiKeys keys, GatewayMetrics metrics, String route) {
    this.keys = Objects.requireNonNull(keys, "keys");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.route = Objects.requireNonNull(route, "route");
  }

  @Override
  public void handle(RoutingContext ctx) {
    ctx.put(ARRIVED_NANOS, System.nanoTime());
    ctx.put(ARRIVED_MILLIS, System.currentTimeMillis());
    String authorization = ctx.request().getHeader("Authorization");
    Optional<String> tenant = keys.tenantOfHeader(authorization);
    if (tenant.isEmpty()) {
      metrics.authFailure(
          authorization == null
              ? GatewayMetrics.AUTH_MISSING_KEY
              : GatewayMetrics.AUTH_INVALID_KEY);
      ErrorResponses.send(
          ctx.response(),
          ApiError.invalidApiKey(
              authorization == null
                  ? "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
                  : "Incorrect API key provided."),
          route,
          metrics);
      return;
    }
    ctx.put(TENANT, tenant.get());
    ctx.next();
  }
}
