package dev.streamrag.jobs.chunk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.ModelTokenizer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Chunking with the real model tokenizer. */
class TokenChunkerTest {
  private static ModelTokenizer tokenizer;

  @BeforeAll
  static void load() {
    tokenizer = ModelTokenizer.load(EmbeddingModelSpec.ALL_MINILM_L6_V2);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private static String prose(int words, long seed) {
    String[] vocabulary =
        "the harbour council voted to rebuild an extraordinary lighthouse before winter storms"
            .split(" ");
    Random random = new Random(seed);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < words; i++) {
      text.append(i == 0 ? "" : i % 12 == 0 ? ". " : " ");
      text.append(vocabulary[random.nextInt(vocabulary.length)]);
    }
    return text.append('.').toString();
  }

  /** Every chunk is cut from the text where it says, and together they cover it all. */
  private static void assertCovers(String text, List<Chunk> chunks) {
    int covered = 0;
    for (int i = 0; i < chunks.size(); i++) {
      Chunk chunk = chunks.get(i);
      assertThat(chunk.index()).isEqualTo(i);
      assertThat(text.substring(chunk.start(), chunk.end())).isEqualTo(chunk.text());
      if (chunk.start() > covered) {
        assertThat(text.substring(covered, chunk.start())).isBlank(); // no gap with content
      }
      covered = Math.max(covered, chunk.end());
    }
    assertThat(text.substring(covered)).isBlank();
  }

  @Test
  void emptyAndBlankTextHaveNoChunks() {
    TokenChunker chunker = new TokenChunker(tokenizer, 16, 4);
    assertThat(chunker.chunk("")).isEmpty();
    assertThat(chunker.chunk(" \n\t ")).isEmpty();
    assertThat(chunker.chunk(null)).isEmpty();
  }

  @Test
  void aShortTextIsOneChunk() {
    List<Chunk> chunks = new TokenChunker(tokenizer, 64, 8).chunk("  The cat sat on the mat.  ");
    assertThat(chunks)
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.text()).isEqualTo("The cat sat on the mat.");
              assertThat(c.tokens()).isEqualTo(7);
            });
  }

  @Test
  void longTextIsCutIntoOverlappingChunksOfAtMostTheSizeThatNeverSplitAWord() {
    String text = prose(2_000, 1);
    List<Chunk> chunks = new TokenChunker(tokenizer, 64, 16).chunk(text);
    assertThat(chunks.size()).isGreaterThan(2_000 / 64);
    assertCovers(text, chunks);
    for (int i = 0; i < chunks.size(); i++) {
      Chunk chunk = chunks.get(i);
      assertThat(chunk.tokens()).isLessThanOrEqualTo(64);
      if (i < chunks.size() - 1) {
        assertThat(chunk.tokens()).as("only the last chunk may be short").isGreaterThan(32);
      }
      assertThat(tokenizer.count(chunk.text())).isLessThanOrEqualTo(64);
      // Words are whole: each chunk starts and ends at a word edge.
      assertThat(chunk.start() == 0 || !Character.isLetter(text.charAt(chunk.start() - 1)))
          .isTrue();
      assertThat(chunk.end() == text.length() || !Character.isLetter(text.charAt(chunk.end())))
          .as(
              "chunk %d ends inside a word: ...%s|%s",
              i,
              chunk.text(),
              text.substring(chunk.end(), Math.min(text.length(), chunk.end() + 10)))
          .isTrue();
      if (i > 0) {
        assertThat(chunk.start()).isLessThan(chunks.get(i - 1).end()); // overlap
      }
    }
  }

  @Test
  void withoutOverlapChunksFollowEachOther() {
    String text = prose(500, 2);
    List<Chunk> chunks = new TokenChunker(tokenizer, 50, 0).chunk(text);
    assertCovers(text, chunks);
    for (int i = 1; i < chunks.size(); i++) {
      assertThat(chunks.get(i).start()).isGreaterThanOrEqualTo(chunks.get(i - 1).end());
    }
  }

  @Test
  void textWithoutWhitespaceIsCutIntoBoundedChunks() {
    // One "word" of 10,800 characters: the tokenizer makes it a single unknown token.
    String text = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(300);
    List<Chunk> chunks = new TokenChunker(tokenizer, 32, 4).chunk(text);
    // Counted as 108 pieces of 100 characters: windows [0,32) [28,60) [56,88) [84,108).
    assertThat(chunks).hasSize(4);
    assertCovers(text, chunks);
    assertThat(chunks)
        .allSatisfy(
            c -> {
              assertThat(c.tokens()).isLessThanOrEqualTo(32);
              assertThat(c.text().length()).isLessThanOrEqualTo(32 * TokenChunker.MAX_TOKEN_CHARS);
            });
  }

  @Test
  void unicodeIsNeverCutInsideACharacter() {
    String text = "Zürich 文字化け 🚀🚀 rocket émigré naïve café ".repeat(200);
    List<Chunk> chunks = new TokenChunker(tokenizer, 24, 6).chunk(text);
    assertCovers(text, chunks);
    for (Chunk chunk : chunks) {
      String t = chunk.text();
      assertThat(Character.isLowSurrogate(t.charAt(0))).isFalse();
      assertThat(Character.isHighSurrogate(t.charAt(t.length() - 1))).isFalse();
    }
  }

  @Test
  void aHugeDocumentIsChunkedInReasonableTime() {
    String text = prose(200_000, 3); // about 1.5 MB
    long started = System.nanoTime();
    List<Chunk> chunks = new TokenChunker(tokenizer, 256, 32).chunk(text);
    assertThat(chunks.size()).isGreaterThan(200_000 / 256);
    assertCovers(text, chunks);
    // Behaviour, not a benchmark: a generous bound that only a quadratic algorithm would miss.
    assertThat((System.nanoTime() - started) / 1e9).isLessThan(60);
  }

  @Test
  void settingsAreValidated() {
    assertThatThrownBy(() -> new TokenChunker(tokenizer, 0, 0)).hasMessageContaining("at least 1");
    assertThatThrownBy(() -> new TokenChunker(tokenizer, 10, 10))
        .hasMessageContaining("less than the chunk size");
  }
}
