package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import java.util.Arrays;
import java.util.List;

/**
 * A prompt's leading blocks as chained hashes, the way a vLLM server's prefix cache sees them: each
 * block's hash covers the whole prompt up to its end (and the model: another model's cache is
 * another cache), so two prompts share the first k hashes exactly when they share their first k
 * blocks. Only full blocks count, as in vLLM.
 *
 * <p>Blocks are {@value #BLOCK_CHARS} characters of the messages as sent (role, content, in order),
 * about 32 tokens, two of vLLM's 16-token blocks; the server's tokenizer and chat template change
 * the exact boundaries but not which prompts share a prefix. At most {@value #MAX_BLOCKS} blocks
 * (16k characters) are hashed: routing needs the leading part, and the decision stays within
 * microseconds.
 */
public final class PrefixBlocks {
  static final int BLOCK_CHARS = 128;
  static final int MAX_BLOCKS = 128;
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  /**
   * A prompt's prefix.
   *
   * @param blocks the chained hashes of its first full blocks (at most {@value #MAX_BLOCKS})
   * @param systemBlocks full blocks that hold only the leading system messages: a prefix every
   *     prompt of the deployment shares, not worth following on its own
   * @param totalBlocks full blocks in the whole prompt, hashed or not
   */
  public record Prefix(long[] blocks, int systemBlocks, int totalBlocks) {
    /** The hashed window's length: what a match can cover at most. */
    int window() {
      return Math.min(totalBlocks, blocks.length);
    }
  }

  private PrefixBlocks() {}

  /** The prefix of {@code messages} as sent to {@code model}. */
  public static Prefix of(String model, List<ChatMessage> messages) {
    long[] blocks = new long[MAX_BLOCKS];
    int count = 0;
    long hash = FNV_OFFSET;
    for (int i = 0; i < model.length(); i++) {
      hash = (hash ^ model.charAt(i)) * FNV_PRIME;
    }
    long chars = 0;
    int systemBlocks = -1;
    for (ChatMessage message : messages) {
      if (systemBlocks < 0 && message.getRole() != ChatRole.SYSTEM) {
        systemBlocks = (int) Math.min(Integer.MAX_VALUE, chars / BLOCK_CHARS);
      }
      String role = message.getRole().name();
      String content = message.getContent();
      for (int part = 0; part < 3; part++) {
        CharSequence text = part == 0 ? role : part == 1 ? "\n" : content;
        if (count == MAX_BLOCKS) {
          chars += text.length(); // counted, not hashed
          continue;
        }
        for (int i = 0; i < text.length(); i++) {
          hash = (hash ^ text.charAt(i)) * FNV_PRIME;
          chars++;
          if (chars % BLOCK_CHARS == 0) {
            blocks[count++] = finish(hash);
            if (count == MAX_BLOCKS) {
              chars += text.length() - i - 1;
              break;
            }
          }
        }
      }
      // A separator between messages, so "ab" + "c" and "a" + "bc" differ.
      hash = (hash ^ 0x1E) * FNV_PRIME;
    }
    if (systemBlocks < 0) {
      systemBlocks = (int) Math.min(Integer.MAX_VALUE, chars / BLOCK_CHARS);
    }
    int total = (int) Math.min(Integer.MAX_VALUE, chars / BLOCK_CHARS);
    return new Prefix(Arrays.copyOf(blocks, count), systemBlocks, total);
  }

  /** A final mix so that hashes of neighbouring prefixes spread over the index's buckets. */
  private static long finish(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
