package dev.streamrag.jobs.pieces;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.PieceType;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Numbering and coalescing, with the pieces recorded instead of sent and the timer run by hand. */
class AnswerStreamTest {
  private final List<AnswerPiece> sent = new ArrayList<>();
  private final List<Runnable> timers = new ArrayList<>();
  private final List<Long> delays = new ArrayList<>();

  private AnswerStream stream(int coalesceTokens, Duration wait) {
    PieceSettings settings =
        new PieceSettings(
            KafkaClientSettings.plaintext("127.0.0.1:9092"),
            "rag.pieces",
            List.of(),
            RecordFormat.AVRO,
            coalesceTokens,
            wait,
            Duration.ZERO,
            null);
    PieceSink sink =
        new PieceSink() {
          @Override
          public PieceSettings settings() {
            return settings;
          }

          @Override
          public void send(
              PieceDestination destination,
              AnswerPiece piece,
              PieceMetrics metrics,
              DeliveryListener listener) {
            synchronized (sent) {
              sent.add(piece);
            }
          }

          @Override
          public void schedule(Runnable task, long delayNanos) {
            synchronized (timers) {
              timers.add(task);
              delays.add(delayNanos);
            }
          }
        };
    AnswerStream stream =
        new AnswerStream(
            sink, new PieceDestination("rag.pieces", null, "r-1"), "r-1", "acme", 42, null);
    stream.head(RequestKind.CHAT, "m", List.of(), CacheHitKind.NONE, Instant.EPOCH);
    return stream;
  }

  @Test
  void theFirstTokenGoesAloneThenTokensAreCoalescedUpToTheLimit() {
    AnswerStream stream = stream(3, Duration.ofSeconds(10));
    for (String token : List.of("a", "b", "c", "d", "e", "f")) {
      stream.text(token);
    }
    stream.end(ok(), new StageTimings());

    assertThat(sent)
        .extracting(AnswerPiece::getType)
        .containsExactly(
            PieceType.HEAD, PieceType.DELTA, PieceType.DELTA, PieceType.DELTA, PieceType.END);
    assertThat(sent).extracting(AnswerPiece::getText).containsExactly(null, "a", "bcd", "ef", null);
    assertThat(sent).extracting(AnswerPiece::getTokens).containsExactly(0, 1, 3, 2, 0);
    assertThat(sent).extracting(AnswerPiece::getSeq).containsExactly(0, 1, 2, 3, 4);
    assertThat(sent).extracting(AnswerPiece::getGeneration).containsOnly(42L);
  }

  @Test
  void aTokenThatWaitedLongEnoughIsSentByTheTimer() {
    AnswerStream stream = stream(100, Duration.ofNanos(1));
    stream.text("a");
    stream.text("b");
    assertThat(sent).hasSize(2); // HEAD and "a"

    timers.remove(0).run();

    assertThat(sent).last().extracting(AnswerPiece::getText).isEqualTo("b");
  }

  @Test
  void nothingIsSentAfterTheEndOrOnceAbandoned() {
    AnswerStream ended = stream(1, Duration.ZERO);
    ended.end(ok(), new StageTimings());
    ended.text("late");
    ended.end(ok(), new StageTimings());
    assertThat(sent)
        .extracting(AnswerPiece::getType)
        .containsExactly(PieceType.HEAD, PieceType.END);

    sent.clear();
    AnswerStream abandoned = stream(1, Duration.ZERO);
    abandoned.abandon();
    abandoned.text("late");
    abandoned.end(ok(), new StageTimings());
    assertThat(sent).extracting(AnswerPiece::getType).containsExactly(PieceType.HEAD);
  }

  @Test
  void whatItSendsReassemblesByTheContract() {
    AnswerStream stream = stream(4, Duration.ofSeconds(10));
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      expected.append("w").append(i).append(' ');
      stream.text("w" + i + " ");
    }
    stream.end(ok(), new StageTimings());

    StreamedAnswer answer = new StreamedAnswer("r-1");
    sent.forEach(answer::offer);

    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo(expected.toString());
    assertThat(sent).hasSize(1 + 1 + 13 + 1); // HEAD, the first token, 49 tokens by 4, END
  }

  @Test
  void aLostPieceMakesTheStreamSendEverythingAgainAsANewerGeneration() {
    AnswerStream stream = stream(2, Duration.ofSeconds(10));
    stream.text("a");
    stream.text("b");
    stream.text("c"); // "bc" goes out
    stream.text("d"); // waits in the buffer
    stream.lost(42); // say "a" was lost: consumers would wait behind the gap for good

    // The repair waits 200 ms; the coalescing flush of "d" would wait 10 s.
    assertThat(delays).containsExactly(10_000_000_000L, 200_000_000L);
    timers.remove(1).run();
    stream.end(ok(), new StageTimings());

    List<AnswerPiece> repaired = sent.stream().filter(p -> p.getGeneration() > 42).toList();
    assertThat(repaired)
        .extracting(AnswerPiece::getType)
        .containsExactly(PieceType.HEAD, PieceType.DELTA, PieceType.END);
    assertThat(repaired.get(1).getText()).isEqualTo("abcd");
    assertThat(repaired.get(1).getTokens()).isEqualTo(4);
    StreamedAnswer answer = new StreamedAnswer("r-1");
    sent.stream().filter(p -> !(p.getSeq() == 1 && p.getGeneration() == 42)).forEach(answer::offer);
    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo("abcd");
  }

  @Test
  void anOlderGenerationsLossOrAnUndeliverableAddressStartsNoRepair() {
    AnswerStream stream = stream(1, Duration.ZERO);
    stream.lost(41);
    assertThat(timers).isEmpty();
    stream.undeliverable(42);
    stream.lost(42);
    assertThat(timers).isEmpty();
  }

  @Test
  void tokensFromOneThreadAndTimerFlushesFromAnotherReassembleInOrder() throws Exception {
    AnswerStream stream = stream(3, Duration.ofNanos(1));
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 2_000; i++) {
      expected.append(i).append(',');
    }
    Thread tokens =
        new Thread(
            () -> {
              for (int i = 0; i < 2_000; i++) {
                stream.text(i + ",");
              }
            });
    Thread timer =
        new Thread(
            () -> {
              while (tokens.isAlive() || !timers.isEmpty()) {
                Runnable task;
                synchronized (timers) {
                  task = timers.isEmpty() ? null : timers.remove(0);
                }
                if (task != null) {
                  task.run();
                }
              }
            });
    tokens.start();
    timer.start();
    tokens.join();
    timer.join();
    stream.end(ok(), new StageTimings());

    StreamedAnswer answer = new StreamedAnswer("r-1");
    sent.forEach(answer::offer);
    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo(expected.toString());
  }

  private static InferenceResponse ok() {
    return InferenceResponse.newBuilder()
        .setRequestId("r-1")
        .setTenantId("acme")
        .setStatus(ResponseStatus.OK)
        .setCompletedAt(Instant.EPOCH)
        .build();
  }
}
