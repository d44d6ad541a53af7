package dev.streamrag.schemas.pieces;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.PieceType;
import dev.streamrag.schemas.ResponseStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamedAnswerTest {
  private static final String ID = "r-1";

  @Test
  void piecesInOrderReleaseTheHeadTheTextAndTheEnd() {
    StreamedAnswer answer = new StreamedAnswer(ID);

    StreamedAnswer.Update head = answer.offer(head(100));
    StreamedAnswer.Update first = answer.offer(delta(100, 1, "Hello"));
    StreamedAnswer.Update second = answer.offer(delta(100, 2, ", world"));
    StreamedAnswer.Update end = answer.offer(end(100, 3));

    assertThat(head.head()).isNotNull();
    assertThat(first.text()).isEqualTo("Hello");
    assertThat(second.text()).isEqualTo(", world");
    assertThat(end.end().getStatus()).isEqualTo(ResponseStatus.OK);
    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo("Hello, world");
    assertThat(answer.applied()).isEqualTo(4);
  }

  @Test
  void replayedPiecesAreDroppedOnce() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(delta(100, 1, "a"));

    assertThat(answer.offer(delta(100, 1, "a")).isEmpty()).isTrue();
    assertThat(answer.offer(head(100)).isEmpty()).isTrue();
    answer.offer(delta(100, 2, "b"));
    answer.offer(end(100, 3));
    assertThat(answer.offer(end(100, 3)).isEmpty()).isTrue();

    assertThat(answer.text()).isEqualTo("ab");
    assertThat(answer.duplicates()).isEqualTo(2);
    assertThat(answer.late()).isEqualTo(1);
  }

  @Test
  void piecesAfterAGapWaitUntilItFills() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));

    assertThat(answer.offer(delta(100, 2, "b")).isEmpty()).isTrue();
    assertThat(answer.offer(end(100, 3)).isEmpty()).isTrue();
    assertThat(answer.waitingForGap()).isTrue();
    assertThat(answer.finished()).isFalse();

    StreamedAnswer.Update filled = answer.offer(delta(100, 1, "a"));

    assertThat(filled.text()).isEqualTo("ab");
    assertThat(filled.end()).isNotNull();
    assertThat(answer.waitingForGap()).isFalse();
  }

  @Test
  void aNewerGenerationThatRepeatsTheTextContinuesWhereTheOldOneStopped() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(delta(100, 1, "The answer "));

    // The job failed over; the deterministic model produces the same answer again.
    assertThat(answer.offer(head(200)).isEmpty()).isTrue();
    assertThat(answer.offer(delta(200, 1, "The ")).text()).isEmpty();
    assertThat(answer.offer(delta(200, 2, "answer is 42")).text()).isEqualTo("is 42");
    // The old generation's late pieces are stale.
    assertThat(answer.offer(delta(100, 2, "was")).isEmpty()).isTrue();
    assertThat(answer.offer(end(200, 3)).end()).isNotNull();

    assertThat(answer.text()).isEqualTo("The answer is 42");
    assertThat(answer.restarts()).isEqualTo(1);
    assertThat(answer.stale()).isEqualTo(1);
    assertThat(answer.diverged()).isFalse();
  }

  @Test
  void aNewerGenerationThatSaysSomethingElseDiverges() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(delta(100, 1, "Paris"));
    answer.offer(head(200));

    assertThat(answer.offer(delta(200, 1, "Lyon")).text()).isEmpty();

    assertThat(answer.diverged()).isTrue();
    assertThat(answer.offer(end(200, 2)).isEmpty()).isTrue();
    assertThat(answer.finished()).isFalse();
    assertThat(answer.text()).isEqualTo("Paris");
  }

  @Test
  void aNewerGenerationThatEndsShorterThanWhatWasReleasedDiverges() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(delta(100, 1, "Paris is"));
    answer.offer(head(200));
    answer.offer(delta(200, 1, "Paris"));

    assertThat(answer.offer(end(200, 2)).end()).isNull();

    assertThat(answer.diverged()).isTrue();
  }

  @Test
  void aFailureInANewerGenerationEndsAnAnswerThatHadStartedToStream() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(delta(100, 1, "Paris is"));
    // The job's async timeout abandoned the attempt; the finish stage ends a newer generation.
    answer.offer(head(200));
    AnswerPiece timeout = end(200, 1);
    timeout.setStatus(ResponseStatus.TIMEOUT);

    StreamedAnswer.Update update = answer.offer(timeout);

    assertThat(update.end().getStatus()).isEqualTo(ResponseStatus.TIMEOUT);
    assertThat(answer.diverged()).isFalse();
    assertThat(answer.text()).as("what was shown stays shown").isEqualTo("Paris is");
  }

  @Test
  void anAnswerWithoutTextIsFinishedByItsEnd() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));

    StreamedAnswer.Update end = answer.offer(end(100, 1));

    assertThat(end.end()).isNotNull();
    assertThat(answer.text()).isEmpty();
  }

  @Test
  void aPieceTypeAddedLaterIsSkippedButCounted() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    answer.offer(head(100));
    answer.offer(piece(100, 1, PieceType.OTHER, null));
    answer.offer(delta(100, 2, "x"));
    answer.offer(end(100, 3));

    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo("x");
  }

  @Test
  void anotherRequestsPieceIsRefused() {
    StreamedAnswer answer = new StreamedAnswer(ID);
    AnswerPiece other = head(100);
    other.setRequestId("r-2");

    assertThatThrownBy(() -> answer.offer(other)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void anyOrderOfAnyNumberOfCopiesAssemblesTheSameAnswer() {
    Random random = new Random(7);
    for (int round = 0; round < 200; round++) {
      List<AnswerPiece> pieces = new ArrayList<>();
      StringBuilder expected = new StringBuilder();
      pieces.add(head(100));
      int n = 1 + random.nextInt(12);
      for (int i = 1; i <= n; i++) {
        String text = "t" + i + " ";
        expected.append(text);
        pieces.add(delta(100, i, text));
      }
      pieces.add(end(100, n + 1));
      List<AnswerPiece> delivered = new ArrayList<>(pieces);
      for (int copies = random.nextInt(5); copies > 0; copies--) {
        delivered.add(pieces.get(random.nextInt(pieces.size())));
      }
      Collections.shuffle(delivered, random);
      StreamedAnswer answer = new StreamedAnswer(ID);
      StringBuilder streamed = new StringBuilder();
      delivered.forEach(p -> streamed.append(answer.offer(p).text()));

      assertThat(answer.finished()).as("round %d", round).isTrue();
      assertThat(streamed.toString()).isEqualTo(expected.toString());
      assertThat(answer.text()).isEqualTo(expected.toString());
    }
  }

  static AnswerPiece head(long generation) {
    return piece(generation, 0, PieceType.HEAD, null);
  }

  static AnswerPiece delta(long generation, int seq, String text) {
    return piece(generation, seq, PieceType.DELTA, text);
  }

  static AnswerPiece end(long generation, int seq) {
    AnswerPiece end = piece(generation, seq, PieceType.END, null);
    end.setStatus(ResponseStatus.OK);
    return end;
  }

  static AnswerPiece piece(long generation, int seq, PieceType type, String text) {
    return AnswerPiece.newBuilder()
        .setRequestId(ID)
        .setTenantId("acme")
        .setGeneration(generation)
        .setSeq(seq)
        .setType(type)
        .setText(text)
        .setEmittedAt(Instant.EPOCH)
        .build();
  }
}
