package dev.streamrag.jobs.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The batching rules, on Flink's operator test harness with its manual processing-time clock. */
class MicroBatchOperatorTest {
  /** Batches each call saw; static because the function is serialized into the harness. */
  private static final ConcurrentLinkedQueue<List<String>> BATCHES = new ConcurrentLinkedQueue<>();

  /** Upper-cases each element and records the batch it came in. */
  static final class Upper implements BatchFunction<String, String> {
    @Override
    public List<String> apply(List<String> batch) {
      BATCHES.add(batch);
      return batch.stream().map(String::toUpperCase).toList();
    }
  }

  @BeforeEach
  void clear() {
    BATCHES.clear();
  }

  private static OneInputStreamOperatorTestHarness<String, String> harness(
      BatchFunction<String, String> function, int size, long waitMillis) throws Exception {
    OneInputStreamOperatorTestHarness<String, String> harness =
        new OneInputStreamOperatorTestHarness<>(
            new MicroBatchOperator<>(
                function, new BatchSettings(size, Duration.ofMillis(waitMillis))),
            StringSerializer.INSTANCE);
    harness.setup(StringSerializer.INSTANCE);
    return harness;
  }

  private static List<String> values(OneInputStreamOperatorTestHarness<String, String> harness) {
    List<String> values = new ArrayList<>();
    for (Object element : harness.getOutput()) {
      if (element instanceof StreamRecord<?> record) {
        values.add((String) record.getValue());
      } else {
        values.add(element.toString());
      }
    }
    return values;
  }

  @Test
  void aFullBatchIsFlushedAtOnceInOneCall() throws Exception {
    try (var harness = harness(new Upper(), 3, 1_000)) {
      harness.open();
      harness.processElement("a", 1);
      harness.processElement("b", 2);
      assertThat(values(harness)).isEmpty();
      harness.processElement("c", 3);
      assertThat(values(harness)).containsExactly("A", "B", "C");
      assertThat(BATCHES).containsExactly(List.of("a", "b", "c"));
    }
  }

  @Test
  void aPartialBatchIsFlushedWhenItsOldestElementHasWaitedLongEnough() throws Exception {
    try (var harness = harness(new Upper(), 10, 50)) {
      harness.open();
      harness.setProcessingTime(100);
      harness.processElement("a", 1);
      harness.setProcessingTime(120);
      harness.processElement("b", 2);
      harness.setProcessingTime(149);
      assertThat(values(harness)).isEmpty();
      harness.setProcessingTime(150); // 50 ms after "a", not after "b"
      assertThat(values(harness)).containsExactly("A", "B");
      // The next batch starts its own clock.
      harness.processElement("c", 3);
      harness.setProcessingTime(199);
      assertThat(values(harness)).hasSize(2);
      harness.setProcessingTime(200);
      assertThat(values(harness)).containsExactly("A", "B", "C");
      assertThat(BATCHES).hasSize(2);
    }
  }

  @Test
  void aTimerOfABatchFlushedByItsSizeDoesNotCutTheNextBatchShort() throws Exception {
    try (var harness = harness(new Upper(), 2, 50)) {
      harness.open();
      harness.setProcessingTime(0);
      harness.processElement("a", 1);
      harness.processElement("b", 2); // full: flushed, its timer cancelled
      harness.setProcessingTime(40);
      harness.processElement("c", 3);
      harness.setProcessingTime(50); // the first batch's deadline: nothing to do for "c"
      assertThat(values(harness)).containsExactly("A", "B");
      harness.setProcessingTime(90);
      assertThat(values(harness)).containsExactly("A", "B", "C");
    }
  }

  @Test
  void sparseArrivalsAreProcessedAtOnceAndABurstStillBatches() throws Exception {
    OneInputStreamOperatorTestHarness<String, String> harness =
        new OneInputStreamOperatorTestHarness<>(
            new MicroBatchOperator<>(
                new Upper(), new BatchSettings(4, Duration.ofMillis(5), Duration.ofMillis(50))),
            StringSerializer.INSTANCE);
    harness.setup(StringSerializer.INSTANCE);
    try (harness) {
      harness.open();
      // One every 100 ms: each is embedded at once, no 5 ms wait for company that won't come.
      for (int i = 0; i < 3; i++) {
        harness.setProcessingTime(i * 100L);
        harness.processElement("s" + i, i);
        assertThat(values(harness)).hasSize(i + 1);
      }
      // A burst: the mean gap falls under 50 ms within a few arrivals, and batching resumes.
      for (int i = 0; i < 12; i++) {
        harness.setProcessingTime(300 + i);
        harness.processElement("b" + i, 10 + i);
      }
      harness.setProcessingTime(400);
      assertThat(BATCHES).anySatisfy(batch -> assertThat(batch).hasSize(4));
      assertThat(values(harness)).hasSize(15);
    }
  }

  @Test
  void timestampsTravelWithTheirElements() throws Exception {
    try (var harness = harness(new Upper(), 2, 1_000)) {
      harness.open();
      harness.processElement("a", 10);
      harness.processElement(new StreamRecord<>("b")); // no timestamp
      List<StreamRecord<? extends String>> records = harness.extractOutputStreamRecords();
      assertThat(records.get(0).getTimestamp()).isEqualTo(10);
      assertThat(records.get(1).hasTimestamp()).isFalse();
    }
  }

  @Test
  void bufferedElementsGoOutBeforeAWatermark() throws Exception {
    try (var harness = harness(new Upper(), 10, 1_000)) {
      harness.open();
      harness.processElement("a", 5);
      harness.processWatermark(new Watermark(10));
      assertThat(values(harness)).containsExactly("A", new Watermark(10).toString());
    }
  }

  @Test
  void theLastPartialBatchIsFlushedAtEndOfInput() throws Exception {
    var harness = harness(new Upper(), 10, 1_000);
    harness.open();
    harness.processElement("a", 1);
    harness.close(); // finish(), then close()
    assertThat(values(harness)).containsExactly("A");
  }

  @Test
  void aCheckpointFlushesFirstSoARestoreNeitherLosesNorRepeatsElements() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = harness(new Upper(), 10, 1_000)) {
      harness.open();
      harness.processElement("a", 1);
      harness.processElement("b", 2);
      harness.prepareSnapshotPreBarrier(1);
      snapshot = harness.snapshot(1, 3);
      // Before the barrier, both buffered elements were emitted.
      assertThat(values(harness)).containsExactly("A", "B");
      harness.processElement("c", 3); // after the checkpoint; lost with the failure below
    }
    // Restore: the source replays what came after the checkpoint, i.e. "c".
    try (var restored = harness(new Upper(), 10, 1_000)) {
      restored.initializeState(snapshot);
      restored.open();
      restored.processElement("c", 3);
      restored.close();
      assertThat(values(restored)).containsExactly("C");
    }
  }

  @Test
  void aFunctionThatDropsResultsFailsLoudly() throws Exception {
    BatchFunction<String, String> dropsOne = batch -> batch.subList(1, batch.size());
    try (var harness = harness(dropsOne, 2, 1_000)) {
      harness.open();
      harness.processElement("a", 1);
      assertThatThrownBy(() -> harness.processElement("b", 2))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("returned 1 results for a batch of 2");
    }
  }

  /**
   * A fault double: a model call that throws whenever its batch holds "bad" (a poisonous input); a
   * real embedding failure cannot be produced on demand.
   */
  static final class PoisonedBy implements BatchFunction<String, String> {
    private final boolean answersFailures;

    PoisonedBy(boolean answersFailures) {
      this.answersFailures = answersFailures;
    }

    @Override
    public List<String> apply(List<String> batch) {
      BATCHES.add(batch);
      if (batch.contains("bad")) {
        throw new IllegalArgumentException("cannot process bad");
      }
      return batch.stream().map(String::toUpperCase).toList();
    }

    @Override
    public String failed(String element, Exception error) throws Exception {
      if (!answersFailures) {
        return BatchFunction.super.failed(element, error);
      }
      return "failed:" + element + ":" + error.getMessage();
    }
  }

  @Test
  void aBatchThatThrowsIsRetriedElementByElementSoOnlyThePoisonedOneFails() throws Exception {
    try (var harness = harness(new PoisonedBy(true), 3, 1_000)) {
      harness.open();
      harness.processElement("a", 1);
      harness.processElement("bad", 2);
      harness.processElement("c", 3);
      assertThat(values(harness)).containsExactly("A", "failed:bad:cannot process bad", "C");
      assertThat(BATCHES)
          .containsExactly(List.of("a", "bad", "c"), List.of("a"), List.of("bad"), List.of("c"));
      harness.processElement("d", 4);
      harness.processElement("e", 5);
      harness.processElement("f", 6);
      assertThat(values(harness)).endsWith("D", "E", "F");
    }
  }

  @Test
  void withoutAFailureAnswerTheErrorStillFailsTheTask() throws Exception {
    try (var harness = harness(new PoisonedBy(false), 1, 1_000)) {
      harness.open();
      assertThatThrownBy(() -> harness.processElement("bad", 1))
          .hasMessageContaining("cannot process bad");
    }
  }

  @Test
  void settingsAreValidated() {
    assertThatThrownBy(() -> new BatchSettings(0, Duration.ZERO))
        .hasMessageContaining("at least 1");
    assertThatThrownBy(() -> new BatchSettings(1, Duration.ofMillis(-1)))
        .hasMessageContaining("must not be negative");
  }
}
