package dev.streamrag.llmsim.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ApproximateTokenizerTest {
  @Test
  void splitsWordsIntoPiecesOfAtMostFourAndPunctuationAlone() {
    assertThat(ApproximateTokenizer.pieces("Hello, world! Tokenization 2026."))
        .containsExactly("Hell", "o", ",", "worl", "d", "!", "Toke", "niza", "tion", "2026", ".");
  }

  @Test
  void englishAveragesRoughlyFourCharactersPerToken() {
    String text =
        "The quick brown fox jumps over the lazy dog while the committee reviews the"
            + " quarterly financial statements of the international organisation.";
    double charactersPerToken = (double) text.length() / ApproximateTokenizer.count(text);
    assertThat(charactersPerToken).isBetween(3.0, 5.0);
  }

  @Test
  void idsAreStableAndSharedPrefixesShareIds() {
    int[] a = ApproximateTokenizer.encode("System: be brief. Question one?");
    int[] b = ApproximateTokenizer.encode("System: be brief. Question two?");
    assertThat(ApproximateTokenizer.encode("System: be brief. Question one?")).isEqualTo(a);
    assertThat(a).hasSameSizeAs(b);
    for (int i = 0; i < a.length - 2; i++) {
      assertThat(a[i]).isEqualTo(b[i]);
    }
    assertThat(a[a.length - 2]).isNotEqualTo(b[b.length - 2]);
    for (int id : a) {
      assertThat(id).isBetween(0, ApproximateTokenizer.VOCABULARY - 1);
    }
  }

  @Test
  void handlesEmptyBlankAndNonLatinText() {
    assertThat(ApproximateTokenizer.count("")).isZero();
    assertThat(ApproximateTokenizer.count(" \n\t ")).isZero();
    assertThat(ApproximateTokenizer.count("東京は日本の首都です。")).isPositive();
    assertThat(ApproximateTokenizer.count("🙂🙂")).isEqualTo(2);
  }
}
