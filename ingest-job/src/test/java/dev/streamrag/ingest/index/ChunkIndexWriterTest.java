package dev.streamrag.ingest.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.ingest.embed.FailureIsolatingEmbedding;
import dev.streamrag.schemas.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The index writer against a fault-injecting bulk transport: what a real OpenSearch node will not
 * do on demand (429s, 5xx, a request refused as too large) is scripted here. Rejections that a real
 * node produces are covered by IngestHostileInputIT.
 */
class ChunkIndexWriterTest {

  /**
   * A fault-injection test double for OpenSearch's bulk API: answers each action by a rule, records
   * every request it was sent.
   */
  static final class ScriptedBulkTransport implements BulkTransport {
    final List<List<String>> requests = new ArrayList<>();
    Function<ChunkAction, ItemResult> perAction = a -> ItemResult.OK;
    Function<List<ChunkAction>, RequestFailed> perRequest = r -> null;

    @Override
    public List<ItemResult> send(List<ChunkAction> actions) throws RequestFailed {
      requests.add(actions.stream().map(a -> a.kind + " " + a.chunkId).toList());
      RequestFailed refused = perRequest.apply(actions);
      if (refused != null) {
        throw refused;
      }
      return actions.stream().map(perAction).toList();
    }

    @Override
    public void close() {}

    List<String> sent() {
      return requests.stream().flatMap(List::stream).toList();
    }
  }

  private final ScriptedBulkTransport opensearch = new ScriptedBulkTransport();

  private OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness(int bulkActions)
      throws Exception {
    ChunkIndexWriter writer =
        new ChunkIndexWriter(
            () -> opensearch,
            new IndexWriteSettings(bulkActions, Duration.ofSeconds(60), 3, Duration.ofMillis(1)),
            "ingest-test");
    OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness =
        new OneInputStreamOperatorTestHarness<>(writer);
    harness.open();
    return harness;
  }

  /** A document version of {@code chunks} upserts, embedded. */
  private static List<ChunkAction> document(String docId, int chunks) {
    List<ChunkAction> actions = new ArrayList<>();
    long group = docId.hashCode();
    for (int i = 0; i < chunks; i++) {
      ChunkAction action = new ChunkAction();
      action.kind = ChunkAction.Kind.UPSERT;
      action.tenantId = "acme";
      action.docId = docId;
      action.chunkIndex = i;
      action.chunkId = ChunkAction.chunkId("acme", docId, i);
      action.text = "text " + i;
      action.vector = new float[] {1, 0};
      action.group = group;
      action.groupSize = chunks;
      actions.add(action);
    }
    actions.get(0).document = ("{\"docId\":\"" + docId + "\"}").getBytes(StandardCharsets.UTF_8);
    return actions;
  }

  private static void feed(
      OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness, List<ChunkAction> actions)
      throws Exception {
    for (ChunkAction action : actions) {
      harness.processElement(new StreamRecord<>(action));
    }
  }

  private static List<DeadLetter> letters(
      OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness) {
    return harness.extractOutputValues();
  }

  @Test
  void aRejectedChunkDeadLettersItsDocumentOnceAndRemovesWhatWasWritten() throws Exception {
    opensearch.perAction =
        a ->
            a.chunkId.equals("acme:bad:1")
                ? new BulkTransport.ItemResult(400, "mapper_parsing_exception: failed to parse")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(100)) {
      feed(harness, document("good", 2));
      feed(harness, document("bad", 3));
      harness.prepareSnapshotPreBarrier(1);

      assertThat(letters(harness)).hasSize(1);
      DeadLetter letter = letters(harness).get(0);
      assertThat(letter.getReasonCode()).isEqualTo(ChunkIndexWriter.REJECTED);
      assertThat(letter.getReason())
          .contains("chunk 1", "status 400", "mapper_parsing_exception", "2 chunks", "removed");
      assertThat(letter.getStage()).isEqualTo("index");
      assertThat(letter.getRequestId()).isEqualTo("bad");
      assertThat(letter.getTenantId()).isEqualTo("acme");
      assertThat(StandardCharsets.UTF_8.decode(letter.getPayload()).toString())
          .isEqualTo("{\"docId\":\"bad\"}");
      assertThat(opensearch.requests.get(1))
          .as("the rollback")
          .containsExactly("DELETE acme:bad:0", "DELETE acme:bad:2");
    }
  }

  @Test
  void tooManyRequestsAreRetriedWithBackoffUntilTheyPass() throws Exception {
    int[] refusals = {2};
    opensearch.perAction =
        a ->
            a.chunkIndex == 1 && refusals[0]-- > 0
                ? new BulkTransport.ItemResult(429, "es_rejected_execution_exception")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(100)) {
      feed(harness, document("d", 3));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(letters(harness)).isEmpty();
      assertThat(opensearch.requests)
          .containsExactly(
              List.of("UPSERT acme:d:0", "UPSERT acme:d:1", "UPSERT acme:d:2"),
              List.of("UPSERT acme:d:1"),
              List.of("UPSERT acme:d:1"));
    }
  }

  @Test
  void tooManyRequestsBeyondTheRetriesDeadLetterTheDocumentInsteadOfFailing() throws Exception {
    opensearch.perRequest = r -> new BulkTransport.RequestFailed(429, "rejected execution");
    try (var harness = harness(100)) {
      feed(harness, document("d", 2));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(opensearch.requests).hasSize(4); // the try and 3 retries
      assertThat(letters(harness))
          .singleElement()
          .satisfies(
              l -> {
                assertThat(l.getReasonCode()).isEqualTo(ChunkIndexWriter.OVERLOADED);
                assertThat(l.getReason()).contains("after 3 retries");
              });
    }
  }

  @Test
  void aRequestRefusedAsTooLargeIsSplitUntilTheCulpritIsAlone() throws Exception {
    opensearch.perRequest =
        r ->
            r.stream().anyMatch(a -> a.docId.equals("huge"))
                ? new BulkTransport.RequestFailed(413, "content length exceeded")
                : null;
    try (var harness = harness(100)) {
      feed(harness, document("a", 2));
      feed(harness, document("huge", 1));
      feed(harness, document("b", 2));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(letters(harness))
          .singleElement()
          .satisfies(
              l -> {
                assertThat(l.getReasonCode()).isEqualTo(ChunkIndexWriter.TOO_LARGE);
                assertThat(l.getRequestId()).isEqualTo("huge");
              });
      assertThat(opensearch.sent())
          .filteredOn(s -> !s.contains("huge"))
          .contains("UPSERT acme:a:0", "UPSERT acme:a:1", "UPSERT acme:b:0", "UPSERT acme:b:1");
    }
  }

  @Test
  void anUnavailableClusterAfterTheRetriesFailsTheTask() throws Exception {
    opensearch.perRequest = r -> new BulkTransport.RequestFailed(503, "no master");
    try (var harness = harness(100)) {
      feed(harness, document("d", 1));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("after 3 retries")
          .hasMessageContaining("503");
    }
  }

  @Test
  void aServerErrorOnOneActionBeyondTheRetriesDeadLettersItsDocument() throws Exception {
    opensearch.perAction =
        a ->
            a.docId.equals("poison")
                ? new BulkTransport.ItemResult(500, "null_pointer_exception")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(100)) {
      feed(harness, document("poison", 1));
      feed(harness, document("fine", 1));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(letters(harness))
          .singleElement()
          .satisfies(l -> assertThat(l.getReasonCode()).isEqualTo(ChunkIndexWriter.FAILED));
    }
  }

  @Test
  void aChunkThatCouldNotBeEmbeddedIsNotWrittenAndItsDocumentIsDeadLettered() throws Exception {
    List<ChunkAction> doc = document("d", 3);
    doc.get(1).vector = null;
    doc.get(1).fail(FailureIsolatingEmbedding.FAILED, "embedding failed: boom");
    try (var harness = harness(100)) {
      feed(harness, doc);
      harness.prepareSnapshotPreBarrier(1);
      assertThat(letters(harness))
          .singleElement()
          .satisfies(
              l -> {
                assertThat(l.getReasonCode()).isEqualTo(FailureIsolatingEmbedding.FAILED);
                assertThat(l.getStage()).isEqualTo("embed");
                assertThat(l.getReason()).contains("boom");
              });
      // Chunk 0 was buffered before chunk 1 failed: written, then removed. Chunk 2 never went.
      assertThat(opensearch.sent()).containsExactly("UPSERT acme:d:0", "DELETE acme:d:0");
    }
  }

  @Test
  void aDocumentSpanningSeveralBulkRequestsIsReportedOnce() throws Exception {
    opensearch.perAction =
        a ->
            a.chunkIndex == 4
                ? new BulkTransport.ItemResult(400, "illegal_argument_exception")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(2)) {
      feed(harness, document("long", 5));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(letters(harness)).hasSize(1);
      assertThat(letters(harness).get(0).getReason()).contains("4 chunks", "removed");
    }
  }
}
