package dev.streamrag.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Which tenant an API key acts as. Only SHA-256 digests of the keys are kept: a heap dump or a
 * debugger shows no key, and looking up a digest reveals nothing about how close a wrong key came.
 * A key acts only as its own tenant; nothing in a request can change that.
 */
public final class ApiKeys {
  /** Shorter keys are refused at start: they can be guessed. */
  public static final int MIN_KEY_CHARS = 16;

  private static final String BEARER = "bearer ";

  private final Map<String, String> tenantsByDigest;

  private ApiKeys(Map<String, String> tenantsByDigest) {
    this.tenantsByDigest = Map.copyOf(tenantsByDigest);
  }

  /**
   * The keys of {@code entries}.
   *
   * @throws IllegalArgumentException if there are none, a key is shorter than {@value
   *     #MIN_KEY_CHARS} characters, or a key is given twice (the message names where, not the key)
   */
  public static ApiKeys of(Collection<ApiKeyEntry> entries) {
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(
          "no API keys configured: give --api-keys-file FILE or set STREAMRAG_GATEWAY_API_KEYS");
    }
    Map<String, String> tenants = new HashMap<>();
    Map<String, String> origins = new HashMap<>();
    List<String> errors = new ArrayList<>();
    for (ApiKeyEntry entry : entries) {
      if (entry.key().length() < MIN_KEY_CHARS) {
        errors.add(
            entry.origin()
                + ": the key is shorter than "
                + MIN_KEY_CHARS
                + " characters; use a long random key");
        continue;
      }
      String digest = digest(entry.key());
      String earlier = origins.putIfAbsent(digest, entry.origin());
      if (earlier != null) {
        errors.add(entry.origin() + ": the same key as " + earlier);
        continue;
      }
      tenants.put(digest, entry.tenant());
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid API keys: " + String.join("; ", errors));
    }
    return new ApiKeys(tenants);
  }

  /** The tenant of the key in an {@code Authorization: Bearer <key>} header, if it is known. */
  public Optional<String> tenantOfHeader(String authorization) {
    if (authorization == null || authorization.length() <= BEARER.length()) {
      return Optional.empty();
    }
    if (!authorization.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      return Optional.empty();
    }
    return tenantOfKey(authorization.substring(BEARER.length()).strip());
  }

  /** The tenant {@code key} acts as, if it is known. */
  public Optional<String> tenantOfKey(String key) {
    if (key == null || key.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(tenantsByDigest.get(digest(key)));
  }

  /** How many keys are configured. */
  public int size() {
    return tenantsByDigest.size();
  }

  /** What is kept in memory: tenants by key digest (for tests to check that no key is). */
  Map<String, String> stored() {
    return tenantsByDigest;
  }

  static String digest(String key) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha256.digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
