package dev.streamrag.llmsim.text;

import java.util.ArrayList;
import java.util.List;

/**
 * A documented stand-in for a BPE tokenizer, used for every token count the simulator reports.
 *
 * <p>Rule: a token is a run of at most four letters or digits (a longer run is split every four
 * characters), or a single other non-space character; white space only separates. English text then
 * averages about four characters per token, the usual rule of thumb for BPE vocabularies of
 * Llama-class models. Each piece maps to a stable id in {@code [0, 32000)}, so equal text gives
 * equal ids and the prefix cache sees shared prefixes as a real tokenizer would.
 */
public final class ApproximateTokenizer {
  public static final int VOCABULARY = 32_000;
  private static final int MAX_PIECE = 4;

  private ApproximateTokenizer() {}

  /** The text's pieces, in order; their concatenation is the text without white space. */
  public static List<String> pieces(String text) {
    List<String> pieces = new ArrayList<>();
    int i = 0;
    while (i < text.length()) {
      int codePoint = text.codePointAt(i);
      int width = Character.charCount(codePoint);
      if (Character.isWhitespace(codePoint)) {
        i += width;
      } else if (Character.isLetterOrDigit(codePoint)) {
        int start = i;
        int letters = 0;
        while (i < text.length()
            && letters < MAX_PIECE
            && Character.isLetterOrDigit(text.codePointAt(i))) {
          i += Character.charCount(text.codePointAt(i));
          letters++;
        }
        pieces.add(text.substring(start, i));
      } else {
        pieces.add(text.substring(i, i + width));
        i += width;
      }
    }
    return pieces;
  }

  public static int count(String text) {
    return pieces(text).size();
  }

  /** Stable token ids for the text (for prefix-cache hashing). */
  public static int[] encode(String text) {
    List<String> pieces = pieces(text);
    int[] ids = new int[pieces.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = Math.floorMod(pieces.get(i).hashCode() * 0x9E3779B1, VOCABULARY);
    }
    return ids;
  }
}
