package dev.streamrag.gateway.openai;

import java.util.regex.Pattern;

/**
 * Which retrieval index names a client may send in {@code streamrag.retrieval.index}. The job hands
 * the name to the search engine, where {@code *}, {@code _all}, comma lists, {@code cluster:index}
 * and dot-prefixed system indices would reach far more than one tenant's documents; so only plain
 * names pass: lowercase letters, digits, {@code -} and {@code _}, starting with a letter or digit,
 * at most 100 characters.
 */
public final class IndexNames {
  public static final int MAX_CHARS = 100;
  private static final Pattern NAME =
      Pattern.compile("[a-z0-9][a-z0-9_-]{0," + (MAX_CHARS - 1) + "}");

  private IndexNames() {}

  /** Why {@code name} is not an acceptable index name, or null if it is. */
  public static String problem(String name) {
    if (name == null || name.isEmpty()) {
      return "an index name must not be empty";
    }
    if (name.length() > MAX_CHARS) {
      return "an index name is at most " + MAX_CHARS + " characters";
    }
    if (!NAME.matcher(name).matches()) {
      return "'"
          + name
          + "' is not a plain index name: use lowercase letters, digits, '-' and '_', starting"
          + " with a letter or digit";
    }
    return null;
  }
}
