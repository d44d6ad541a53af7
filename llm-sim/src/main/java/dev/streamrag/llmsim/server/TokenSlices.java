package dev.streamrag.llmsim.server;

import dev.streamrag.llmsim.text.ApproximateTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts an answer into the text each streamed token carries: one slice per token of {@link
 * ApproximateTokenizer}, white space going with the token after it, so the slices concatenate to
 * the answer exactly.
 */
final class TokenSlices {
  private TokenSlices() {}

  static List<String> of(String text) {
    List<String> pieces = ApproximateTokenizer.pieces(text);
    List<String> slices = new ArrayList<>(pieces.size());
    int position = 0;
    for (int i = 0; i < pieces.size(); i++) {
      int end = text.indexOf(pieces.get(i), position) + pieces.get(i).length();
      slices.add(text.substring(position, i == pieces.size() - 1 ? text.length() : end));
      position = end;
    }
    return slices;
  }
}
