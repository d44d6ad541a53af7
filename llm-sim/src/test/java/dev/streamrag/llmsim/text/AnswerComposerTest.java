package dev.streamrag.llmsim.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AnswerComposerTest {
  private static final String CONTEXT =
      "[doc-1] Zorblax Industries was founded by Mira Okonkwo in 1987. It makes ceramic valves.\n"
          + "[doc-2] The Quillon River flows through Eastmere and is 412 km long.\n"
          + "[doc-3] Mira Okonkwo later founded a school in Eastmere.";

  @Test
  void answersWithTheContextSentenceThatBestMatchesTheQuestion() {
    String answer =
        AnswerComposer.answer(
            List.of("You answer from the context.", CONTEXT), "Who founded Zorblax Industries?");
    assertThat(answer).isEqualTo("[doc-1] Zorblax Industries was founded by Mira Okonkwo in 1987.");

    assertThat(AnswerComposer.answer(List.of(CONTEXT), "How long is the Quillon River?"))
        .contains("412 km");
  }

  @Test
  void withoutOverlapItSaysItDoesNotKnow() {
    assertThat(AnswerComposer.answer(List.of(CONTEXT), "What is the boiling point of tungsten?"))
        .isEqualTo(AnswerComposer.NO_ANSWER);
    assertThat(AnswerComposer.answer(List.of(), "Anything?")).isEqualTo(AnswerComposer.NO_ANSWER);
  }

  @Test
  void tiesGoToTheEarlierSentence() {
    assertThat(AnswerComposer.answer(List.of("Alpha beta one. Alpha beta two."), "alpha beta?"))
        .isEqualTo("Alpha beta one.");
  }

  @Test
  void theLastLineOfTheLastUserMessageIsTheQuestion() {
    String[] parts =
        AnswerComposer.splitLastUserMessage(CONTEXT + "\n\nWho founded Zorblax Industries?\n");
    assertThat(parts[1]).isEqualTo("Who founded Zorblax Industries?");
    assertThat(AnswerComposer.answer(List.of(parts[0]), parts[1])).contains("Mira Okonkwo in 1987");
  }

  @Test
  void paddingReachesMinTokensDeterministicallyAndTruncationCutsAtMaxTokens() {
    String padded = AnswerComposer.padToTokens("Short answer.", 50, 42);
    assertThat(ApproximateTokenizer.count(padded)).isGreaterThanOrEqualTo(50);
    assertThat(padded).startsWith("Short answer.");
    assertThat(AnswerComposer.padToTokens("Short answer.", 50, 42)).isEqualTo(padded);
    assertThat(AnswerComposer.padToTokens("Short answer.", 50, 43)).isNotEqualTo(padded);
    assertThat(AnswerComposer.padToTokens("Short answer.", 1, 42)).isEqualTo("Short answer.");

    String cut = AnswerComposer.truncateToTokens(padded, 10);
    assertThat(ApproximateTokenizer.count(cut)).isEqualTo(10);
    assertThat(padded).startsWith(cut);
  }
}
