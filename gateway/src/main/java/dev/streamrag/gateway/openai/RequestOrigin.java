package dev.streamrag.gateway.openai;

import java.util.Locale;
import java.util.Objects;

/**
 * What the gateway knows of a request besides its body: the id it gave it, the tenant its API key
 * belongs to, when it arrived, where its pieces must come back, and the caller's W3C {@code
 * traceparent} header (null if none).
 */
public record RequestOrigin(
    String requestId,
    String tenantId,
    long receivedAtMillis,
    String replyTopic,
    int replyPartition,
    String traceparent) {
  public RequestOrigin {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(tenantId, "tenantId");
    Objects.requireNonNull(replyTopic, "replyTopic");
    if (replyPartition < 0) {
      throw new IllegalArgumentException("replyPartition must not be negative: " + replyPartition);
    }
  }

  /**
   * The trace id of a valid {@code traceparent} ({@code 00-<32 hex>-<16 hex>-<2 hex>}), else null:
   * W3C Trace Context says to ignore a header that does not parse.
   */
  public String traceId() {
    if (traceparent == null) {
      return null;
    }
    String[] parts = traceparent.trim().split("-");
    if (parts.length < 4 || parts[0].length() != 2 || parts[1].length() != 32) {
      return null;
    }
    String traceId = parts[1].toLowerCase(Locale.ROOT);
    if (!traceId.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
        || traceId.chars().allMatch(c -> c == '0')) {
      return null;
    }
    return traceId;
  }
}
