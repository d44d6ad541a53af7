package dev.streamrag.schemas.ids;

import java.util.regex.Pattern;

/**
 * The rules identifiers on the topics must follow, and how invalid ones are shown. A tenant id
 * becomes part of keys (cache entries, chunk ids, keyed state), so it may not contain a separator;
 * a request id is a Kafka key and echoed in every output, so it is bounded and printable. Clients
 * get these rules in the contract (schemas/README.md) and a REJECTED response (or a dead letter,
 * when not even the request id is usable) when they break them.
 */
public final class Identifiers {
  private Identifiers() {}

  public static final int MAX_REQUEST_ID_CHARS = 256;
  public static final int MAX_TENANT_ID_CHARS = 64;
  public static final int MAX_DOC_ID_CHARS = 256;

  /**
   * A document id's chunk ids ({@code tenant:docId:n}, tenant at most 64 bytes, chunk number at
   * most 10 digits) must fit OpenSearch's 512-byte {@code _id}; 400 bytes leaves room to spare.
   */
  public static final int MAX_DOC_ID_BYTES = 400;

  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /**
   * 1 to 256 characters, none of them a control character or an unpaired surrogate (which UTF-8
   * cannot hold: the id would reach Kafka as '?', and an answer would go to another id).
   */
  public static boolean validRequestId(String id) {
    return id != null
        && !id.isBlank()
        && id.length() <= MAX_REQUEST_ID_CHARS
        && id.chars().noneMatch(Character::isISOControl)
        && unpairedSurrogate(id) < 0;
  }

  /**
   * The index of the first unpaired surrogate in {@code text}, or -1 if it has none: such a string
   * cannot be encoded in UTF-8 (Avro writes '?'), so two different ones would become one.
   */
  public static int unpairedSurrogate(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return i;
      }
    }
    return -1;
  }

  /** 1 to 64 of letters, digits, '.', '_' and '-', starting with a letter or digit. */
  public static boolean validTenantId(String id) {
    return id != null && TENANT.matcher(id).matches();
  }

  /**
   * 1 to 256 characters and at most {@link #MAX_DOC_ID_BYTES} bytes in UTF-8, not blank, with no
   * control character, no unpaired surrogate and no U+FFFD.
   *
   * <p>No charset rule, on purpose: document ids are file paths, URLs and other systems' keys
   * ({@code guides/setup.md}, {@code confluence:1234}, names in any script), and a charset would
   * refuse real ones. Separators are harmless because chunk ids and state keys are built so that
   * they cannot collide whatever the document id holds (the tenant part cannot contain the
   * separator). What is refused is what breaks the id's use: control characters (logs, keys, dead
   * letters), unpaired surrogates (they cannot be encoded in UTF-8, so two ids would become the
   * same bytes in the index) and U+FFFD (what invalid UTF-8 decodes to, so two different ids on the
   * wire would become one).
   */
  public static boolean validDocId(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_DOC_ID_CHARS || id.isBlank()) {
      return false;
    }
    int bytes = 0;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (Character.isISOControl(c) || c == '\uFFFD') {
        return false;
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= id.length() || !Character.isLowSurrogate(id.charAt(i + 1))) {
          return false;
        }
        bytes += 4;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      } else {
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
      }
    }
    return bytes <= MAX_DOC_ID_BYTES;
  }

  /** The rule {@link #validDocId} applies, in words, for error messages. */
  public static final String DOC_ID_RULE =
      "1 to 256 characters (at most 400 bytes in UTF-8), not blank, without control characters,"
          + " unpaired surrogates or U+FFFD";

  /** The rule {@link #validTenantId} applies, in words, for error messages. */
  public static final String TENANT_RULE =
      "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit";

  /**
   * {@code text} cut to at most {@code max} characters (ending in "…" when cut), control characters
   * shown as '?': how an invalid value is echoed without growing the output.
   */
  public static String clip(String text, int max) {
    if (text == null) {
      return null;
    }
    String cut = text.length() <= max ? text : text.substring(0, Math.max(0, max - 1)) + "…";
    StringBuilder shown = new StringBuilder(cut.length());
    cut.chars().forEach(c -> shown.append(Character.isISOControl(c) ? '?' : (char) c));
    return shown.toString();
  }
}
