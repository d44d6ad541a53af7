package dev.streamrag.inference.agent;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The names one agent request's steps go by, the same every time the request is replayed: its
 * journal entries in Redis, and the idempotency keys of its tool calls.
 *
 * <p>A request is its tenant, requestId and createdAt: requestIds are the client's, so two tenants
 * (or one client reusing ids) may send the same one. Journal keys name the tenant first (tenant ids
 * hold no ':'). Idempotency keys leave the job for tool servers that keep them in one space for
 * every caller, so they carry a hash of the three instead of the ids themselves; and the hash of
 * the call's tool and arguments, so that a call made in the same place with other arguments (a
 * replayed step the model answered differently) is a new call, not the old one's remembered answer.
 */
public record RunKeys(String tenant, String requestId, long createdAt) {
  private static final HexFormat HEX = HexFormat.of();

  /** Where the request's steps are journaled: {@code <prefix>:<step>:llm}, {@code :<call>}. */
  public String journalPrefix() {
    return "streamrag:agent:" + tenant + ":" + requestId + ":" + createdAt;
  }

  public String journalKey(int step, String entry) {
    return journalPrefix() + ":" + step + ":" + entry;
  }

  /**
   * {@code <request hash>:<step>:<call>:<call hash>}: 16 hex digits of SHA-256 over tenant,
   * requestId and createdAt, the step and the call's place in it, then 8 over the tool's name and
   * its canonical arguments.
   */
  public String idempotencyKey(int step, int call, String tool, String canonicalArguments) {
    return requestHash()
        + ":"
        + step
        + ":"
        + call
        + ":"
        + sha256(tool + "\0" + canonicalArguments).substring(0, 8);
  }

  /** What every idempotency key of the request starts with (16 hex digits). */
  public String requestHash() {
    return sha256(tenant + "\0" + requestId + "\0" + createdAt).substring(0, 16);
  }

  private static String sha256(String text) {
    try {
      return HEX.formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
