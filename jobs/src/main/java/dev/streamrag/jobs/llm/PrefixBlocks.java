package dev.streamrag.jobs.llm;

import dev.streamrag.schemas.ChatMessage;
import java.util.Arrays;
import java.util.List;

/**
 * A prompt's leading blocks as chained hashes, the way a vLLM server's prefix cache sees them: each
 * block's hash covers the whole prompt up to its end, so two prompts share the first k hashes
 * exactly when they share their first k blocks. Only full blocks count, as in vLLM.
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

  private PrefixBlocks() {}

  /** The chained hashes of the full leading blocks of {@code messages}. */
  public static long[] of(List<ChatMessage> messages) {
    long[] blocks = new long[MAX_BLOCKS];
    int count = 0;
    long hash = FNV_OFFSET;
    int inBlock = 0;
    for (ChatMessage message : messages) {
      String role = message.getRole().name();
      String content = message.getContent();
      for (int part = 0; part < 3 && count < MAX_BLOCKS; part++) {
        CharSequence text = part == 0 ? role : part == 1 ? "\n" : content;
        for (int i = 0; i < text.length(); i++) {
          hash = (hash ^ text.charAt(i)) * FNV_PRIME;
          if (++inBlock == BLOCK_CHARS) {
            blocks[count++] = finish(hash);
            inBlock = 0;
            if (count == MAX_BLOCKS) {
              break;
            }
          }
        }
      }
      // A separator between messages, so "ab" + "c" and "a" + "bc" differ.
      hash = (hash ^ 0x1E) * FNV_PRIME;
      if (count == MAX_BLOCKS) {
        break;
      }
    }
    return Arrays.copyOf(blocks, count);
  }

  /** A final mix so that hashes of neighbouring prefixes spread over the index's buckets. */
  private static long finish(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
