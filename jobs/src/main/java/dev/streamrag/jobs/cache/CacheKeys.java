package dev.streamrag.jobs.cache;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.InferenceRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Redis keys of the response and embedding caches. Every key starts with the tenant, so one
 * tenant's entries can never answer another's request, and can be listed or dropped per tenant. The
 * rest is a SHA-256 of everything that changes the answer: model, kind, the messages with
 * whitespace normalised, generation parameters, retrieval options and the index version (a
 * re-indexed corpus must not be answered from an old cache).
 */
public final class CacheKeys {
  private static final String RESPONSE_PREFIX = "streamrag:resp:";
  private static final String EMBEDDING_PREFIX = "streamrag:emb:";

  private CacheKeys() {}

  /**
   * @param model the model that will answer (the request's, or the deployment default when it names
   *     none), so that both spellings of one request share an entry
   */
  public static String response(InferenceRequest request, String model, String indexVersion) {
    Canonical canonical = new Canonical();
    canonical.add(model).add(request.getKind()).add(normalise(request.getPrompt()));
    for (ChatMessage message : request.getMessages()) {
      canonical.add(message.getRole()).add(normalise(message.getContent())).add(message.getName());
    }
    canonical
        .add(request.getMaxTokens())
        .add(request.getTemperature())
        .add(request.getTopP())
        .add(request.getSeed())
        .add(request.getStop())
        .add(request.getRetrieval())
        .add(indexVersion);
    return RESPONSE_PREFIX + request.getTenantId() + ":" + canonical.sha256();
  }

  public static String embedding(String tenantId, String model, String query) {
    Canonical canonical = new Canonical().add(model).add(normalise(query));
    return EMBEDDING_PREFIX + tenantId + ":" + canonical.sha256();
  }

  /** Collapses runs of whitespace and trims: "What is\nX? " and "What is X?" are one question. */
  static String normalise(CharSequence text) {
    return text == null ? null : text.toString().strip().replaceAll("\\s+", " ");
  }

  /** Length-prefixed fields, so that ("ab", "c") and ("a", "bc") never hash alike. */
  private static final class Canonical {
    private final StringBuilder text = new StringBuilder();

    Canonical add(Object value) {
      String s = value == null ? "\u0000" : value.toString();
      text.append(s.length()).append(':').append(s).append('|');
      return this;
    }

    String sha256() {
      try {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        return HexFormat.of()
            .formatHex(digest.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JVM has SHA-256", e);
      }
    }
  }
}
