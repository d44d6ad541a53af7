package dev.streamrag.jobs.chunk;

import dev.streamrag.jobs.embed.ModelTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts text into chunks of at most {@code chunkTokens} model tokens, each starting {@code
 * overlapTokens} tokens before the previous one ended, so a fact spanning a cut appears whole in
 * one chunk. Counting in the embedding model's own tokens means a chunk is never truncated by the
 * model.
 *
 * <p>A chunk ends between words where it can: if the window would split a word into its pieces
 * ("token|ization"), it is shortened to the last whitespace or punctuation boundary in its second
 * half. Text without such boundaries (a long run of CJK characters, a URL, a base64 blob) is cut at
 * token boundaries.
 */
public final class TokenChunker {
  private final ModelTokenizer tokenizer;
  private final int chunkTokens;
  private final int overlapTokens;

  public TokenChunker(ModelTokenizer tokenizer, int chunkTokens, int overlapTokens) {
    checkSettings(chunkTokens, overlapTokens);
    this.tokenizer = tokenizer;
    this.chunkTokens = chunkTokens;
    this.overlapTokens = overlapTokens;
  }

  /** Throws {@link IllegalArgumentException} for a size below 1 or an overlap outside [0, size). */
  public static void checkSettings(int chunkTokens, int overlapTokens) {
    if (chunkTokens < 1) {
      throw new IllegalArgumentException("chunk size must be at least 1 token, got " + chunkTokens);
    }
    if (overlapTokens < 0 || overlapTokens >= chunkTokens) {
      throw new IllegalArgumentException(
          "overlap must be at least 0 and less than the chunk size ("
              + chunkTokens
              + "), got "
              + overlapTokens);
    }
  }

  /** The chunks of {@code text}; none for empty or whitespace-only text. */
  public List<Chunk> chunk(String text) {
    List<Chunk> chunks = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return chunks;
    }
    int[][] tokens = splitLongTokens(text, tokenizer.tokenOffsets(text));
    int first = 0;
    while (first < tokens.length) {
      int end = Math.min(tokens.length, first + chunkTokens); // exclusive token index
      if (end < tokens.length) {
        end = wordBoundaryBefore(tokens, first, end);
      }
      int start = tokens[first][0];
      int stop = tokens[end - 1][1];
      chunks.add(new Chunk(chunks.size(), text.substring(start, stop), start, stop, end - first));
      if (end >= tokens.length) {
        break;
      }
      // Step back by the overlap, but always move forward.
      first = Math.max(first + 1, end - overlapTokens);
    }
    return chunks;
  }

  /** Longest span counted as one token: WordPiece's limit for a single word. */
  static final int MAX_TOKEN_CHARS = 100;

  private static int[][] splitLongTokens(String text, int[][] tokens) {
    List<int[]> split = new ArrayList<>(tokens.length);
    for (int[] token : tokens) {
      int start = token[0];
      while (token[1] - start > MAX_TOKEN_CHARS) {
        int end = start + MAX_TOKEN_CHARS;
        if (Character.isLowSurrogate(text.charAt(end))) {
          end--; // never split a surrogate pair
        }
        split.add(new int[] {start, end});
        start = end;
      }
      split.add(new int[] {start, token[1]});
    }
    return split.toArray(int[][]::new);
  }

  /**
   * The latest window end in ({@code first + half}, {@code end}] where the next token does not
   * continue the previous one's word, or {@code end} if there is none.
   */
  private int wordBoundaryBefore(int[][] tokens, int first, int end) {
    int lowest = first + Math.max(1, (end - first) / 2);
    for (int candidate = end; candidate > lowest; candidate--) {
      boolean glued = tokens[candidate][0] == tokens[candidate - 1][1];
      if (!glued) {
        return candidate;
      }
    }
    return end;
  }
}
