package dev.streamrag.llmsim.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;

/**
 * The API key check vLLM's {@code --api-key} makes: a request is admitted when it carries {@code
 * Authorization: Bearer KEY} (the scheme in any case) with the server's key.
 *
 * <p>Only the key's SHA-256 digest is kept, and a presented key is hashed before it is compared
 * with {@link MessageDigest#isEqual}, as vLLM compares digests: the comparison takes the same time
 * whatever the presented key's length or how much of it matches.
 */
final class BearerAuth {
  private static final String SCHEME = "bearer";

  private final byte[] keyDigest;

  private BearerAuth(byte[] keyDigest) {
    this.keyDigest = keyDigest;
  }

  /** A check for {@code key}, which must not be empty (an empty key would admit an empty one). */
  static BearerAuth of(String key) {
    Objects.requireNonNull(key, "key");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("the API key is empty");
    }
    return new BearerAuth(sha256(key));
  }

  /** True when {@code authorization} (the header's value, or null) presents the key. */
  boolean admits(String authorization) {
    if (authorization == null) {
      return false;
    }
    int space = authorization.indexOf(' ');
    if (space < 0 || !authorization.substring(0, space).equalsIgnoreCase(SCHEME)) {
      return false;
    }
    return MessageDigest.isEqual(sha256(authorization.substring(space + 1)), keyDigest);
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** Never the key, nor its digest. */
  @Override
  public String toString() {
    return "BearerAuth[key hidden]";
  }
}
