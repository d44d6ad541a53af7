package dev.streamrag.gateway.auth;

import java.util.Objects;

/**
 * One API key and the tenant it acts as, with where it was configured ({@code keys.txt line 3},
 * {@code STREAMRAG_GATEWAY_API_KEYS entry #2}) for error messages. {@link #toString()} leaves the
 * key out, so an entry can be logged.
 */
public record ApiKeyEntry(String key, String tenant, String origin) {
  public ApiKeyEntry {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(origin, "origin");
  }

  @Override
  public String toString() {
    return "ApiKeyEntry[tenant=" + tenant + ", origin=" + origin + "]";
  }
}
