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

  private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /** 1 to 256 characters, none of them a control character. */
  public static boolean validRequestId(String id) {
    return id != null
        && !id.isBlank()
        && id.length() <= MAX_REQUEST_ID_CHARS
        && id.chars().noneMatch(Character::isISOControl);
  }

  /** 1 to 64 of letters, digits, '.', '_' and '-', starting with a letter or digit. */
  public static boolean validTenantId(String id) {
    return id != null && TENANT.matcher(id).matches();
  }

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
