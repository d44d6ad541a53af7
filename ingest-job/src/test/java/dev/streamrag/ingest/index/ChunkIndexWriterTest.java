package dev.streamrag.ingest.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.ingest.embed.FailureIsolatingEmbedding;
import dev.streamrag.schemas.DeadLetter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
   * every request it was sent, and keeps the chunks it accepted as an index would.
   */
  static final class ScriptedBulkTransport implements BulkTransport {
    final List<List<String>> requests = new ArrayList<>();

    /** Chunk id → text of what is indexed. */
    final Map<String, String> index = new TreeMap<>();

    Function<ChunkAction, ItemResult> perAction = a -> ItemResult.OK;

    /** A failure of the whole request (RequestFailed, IOException or RuntimeException), or null. */
    Function<List<ChunkAction>, Exception> perRequest = r -> null;

    @Override
    public List<ItemResult> send(List<ChunkAction> actions, Duration timeout) throws IOException {
      assertThat(timeout).isPositive();
      requests.add(actions.stream().map(a -> a.kind + " " + a.chunkId).toList());
      Exception refused = perRequest.apply(actions);
      if (refused instanceof IOException io) {
        throw io;
      } else if (refused instanceof RuntimeException runtime) {
        throw runtime;
      }
      List<ItemResult> results = actions.stream().map(perAction).toList();
      for (int i = 0; i < actions.size(); i++) {
        ChunkAction action = actions.get(i);
        if (results.get(i).ok()) {
          if (action.kind == ChunkAction.Kind.UPSERT) {
            index.put(action.chunkId, action.text);
          } else {
            index.remove(action.chunkId);
          }
        }
      }
      return results;
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
    return harness(bulkActions, Duration.ofSeconds(30));
  }

  private OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness(
      int bulkActions, Duration flushTimeout) throws Exception {
    ChunkIndexWriter writer =
        new ChunkIndexWriter(
            () -> opensearch,
            new IndexWriteSettings(
                bulkActions, Duration.ofSeconds(60), flushTimeout, Duration.ofMillis(1)),
            "ingest-test");
    OneInputStreamOperatorTestHarness<ChunkAction, DeadLetter> harness =
        new OneInputStreamOperatorTestHarness<>(writer);
    harness.open();
    return harness;
  }

  /** A document version of {@code chunks} upserts, embedded. */
  private static List<ChunkAction> document(String docId, int chunks) {
    return version(docId, docId.hashCode(), "text", chunks, 0);
  }

  /**
   * Version {@code group} of a document: {@code chunks} embedded upserts with texts {@code text n},
   * then deletes of the {@code surplus} chunks the previous version had beyond them.
   */
  private static List<ChunkAction> version(
      String docId, long group, String text, int chunks, int surplus) {
    List<ChunkAction> actions = new ArrayList<>();
    for (int i = 0; i < chunks + surplus; i++) {
      ChunkAction action = new ChunkAction();
      action.kind = i < chunks ? ChunkAction.Kind.UPSERT : ChunkAction.Kind.DELETE;
      action.tenantId = "acme";
      action.docId = docId;
      action.chunkIndex = i;
      action.chunkId = ChunkAction.chunkId("acme", docId, i);
      if (i < chunks) {
        action.text = text + " " + i;
        action.vector = new float[] {1, 0};
      }
      action.group = group;
      action.groupSize = chunks + surplus;
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
            a.kind == ChunkAction.Kind.UPSERT && a.chunkId.equals("acme:bad:1")
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
          .contains("chunk 1", "status 400", "mapper_parsing_exception", "3 chunk ids", "deleted");
      assertThat(letter.getStage()).isEqualTo("index");
      assertThat(letter.getRequestId()).isEqualTo("bad");
      assertThat(letter.getTenantId()).isEqualTo("acme");
      assertThat(StandardCharsets.UTF_8.decode(letter.getPayload()).toString())
          .isEqualTo("{\"docId\":\"bad\"}");
      assertThat(opensearch.requests.get(1))
          .as("the rollback: every id, so no chunk of the previous version stays either")
          .containsExactly("DELETE acme:bad:0", "DELETE acme:bad:1", "DELETE acme:bad:2");
      assertThat(opensearch.index).containsOnlyKeys("acme:good:0", "acme:good:1");
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
  void tooManyRequestsUntilTheFlushDeadlineFailTheTaskInsteadOfDeadLettering() throws Exception {
    opensearch.perRequest = r -> new BulkTransport.RequestFailed(429, "rejected execution");
    try (var harness = harness(100, Duration.ofMillis(300))) {
      feed(harness, document("d", 2));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("ingest.index-flush-timeout")
          .hasMessageContaining("429");
      assertThat(opensearch.requests.size()).isGreaterThan(1);
      assertThat(letters(harness)).as("an overloaded cluster is not a bad record").isEmpty();
    }
  }

  @Test
  void aRequestRefusedAsTooLargeIsSplitUntilTheCulpritIsAlone() throws Exception {
    opensearch.perRequest =
        r ->
            r.stream().anyMatch(a -> a.kind == ChunkAction.Kind.UPSERT && a.docId.equals("huge"))
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
    try (var harness = harness(100, Duration.ofMillis(300))) {
      feed(harness, document("d", 1));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("ran out")
          .hasMessageContaining("503");
    }
  }

  @Test
  void aServerErrorOnOneActionUntilTheDeadlineFailsTheTask() throws Exception {
    opensearch.perAction =
        a ->
            a.docId.equals("poison")
                ? new BulkTransport.ItemResult(500, "null_pointer_exception")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(100, Duration.ofMillis(300))) {
      feed(harness, document("poison", 1));
      feed(harness, document("fine", 1));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("null_pointer_exception");
      assertThat(opensearch.requests.get(1))
          .as("only the failed one is retried")
          .containsExactly("UPSERT acme:poison:0");
      assertThat(letters(harness)).isEmpty();
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
      // Chunk 0 was buffered before chunk 1 failed: written, then removed. Chunk 2 never went, but
      // its id is deleted too, in case the previous version had it.
      assertThat(opensearch.sent())
          .containsExactly(
              "UPSERT acme:d:0", "DELETE acme:d:0", "DELETE acme:d:1", "DELETE acme:d:2");
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
      assertThat(letters(harness).get(0).getReason()).contains("5 chunk ids", "deleted");
      assertThat(opensearch.index).isEmpty();
    }
  }

  @Test
  void rollingBackAnOldVersionSparesTheChunksOfANewerOneInTheSameFlush() throws Exception {
    opensearch.perAction =
        a ->
            "v1 1".equals(a.text)
                ? new BulkTransport.ItemResult(400, "mapper_parsing_exception")
                : BulkTransport.ItemResult.OK;
    try (var harness = harness(100)) {
      feed(harness, version("d", 1, "v1", 3, 0));
      feed(harness, version("d", 2, "v2", 2, 1)); // v2 deletes v1's chunk 2
      harness.prepareSnapshotPreBarrier(1);

      assertThat(letters(harness))
          .singleElement()
          .satisfies(l -> assertThat(l.getReason()).contains("chunk 1"));
      assertThat(opensearch.requests.get(1)).as("v1's rollback").containsExactly("DELETE acme:d:2");
      assertThat(opensearch.index)
          .as("v2, whole")
          .isEqualTo(Map.of("acme:d:0", "v2 0", "acme:d:1", "v2 1"));
    }
  }

  @Test
  void aFailedUpdateLeavesNoChunkOfThePreviousVersion() throws Exception {
    try (var harness = harness(100)) {
      feed(harness, version("d", 1, "old", 10, 0));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(opensearch.index).hasSize(10);

      // The new version has 3 chunks (and deletes the old 3 to 9); its chunk 1 cannot be embedded.
      List<ChunkAction> update = version("d", 2, "new", 3, 7);
      update.get(1).vector = null;
      update.get(1).fail(FailureIsolatingEmbedding.FAILED, "boom");
      feed(harness, update);
      harness.prepareSnapshotPreBarrier(2);

      assertThat(letters(harness)).hasSize(1);
      assertThat(opensearch.sent())
          .as("the surplus deletes are not skipped")
          .contains("DELETE acme:d:3", "DELETE acme:d:9");
      assertThat(opensearch.index).as("absent: dead-lettered, and no part of it indexed").isEmpty();
    }
  }

  @Test
  void aRollbackThatCannotDeleteFailsTheTaskInsteadOfLeavingTwoOutcomes() throws Exception {
    opensearch.perAction =
        a ->
            a.kind == ChunkAction.Kind.DELETE
                ? new BulkTransport.ItemResult(503, "unavailable_shards_exception")
                : "text 1".equals(a.text)
                    ? new BulkTransport.ItemResult(400, "mapper_parsing_exception")
                    : BulkTransport.ItemResult.OK;
    try (var harness = harness(100, Duration.ofMillis(300))) {
      feed(harness, document("d", 2));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("unavailable_shards_exception");
      assertThat(letters(harness)).isEmpty();
    }
  }

  @Test
  void aMissingOrBlockedIndexFailsTheTaskAtOnceInsteadOfRejectingEveryDocument() throws Exception {
    for (BulkTransport.ItemResult unusable :
        List.of(
            new BulkTransport.ItemResult(404, "index_not_found_exception: no such index"),
            new BulkTransport.ItemResult(403, "cluster_block_exception: index read-only"),
            new BulkTransport.ItemResult(400, "index_closed_exception: closed"))) {
      opensearch.requests.clear();
      opensearch.perAction = a -> unusable;
      try (var harness = harness(100)) {
        feed(harness, document("d", 2));
        assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
            .hasMessageContaining(unusable.error());
        assertThat(opensearch.requests).hasSize(1);
        assertThat(letters(harness)).isEmpty();
      }
    }
  }

  @Test
  void aRequestRefusedWholeForAnotherReasonThanSizeFailsTheTaskWithoutSplitting() throws Exception {
    opensearch.perRequest = r -> new BulkTransport.RequestFailed(400, "illegal_argument_exception");
    try (var harness = harness(100)) {
      feed(harness, document("a", 2));
      feed(harness, document("b", 2));
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .hasMessageContaining("illegal_argument_exception");
      assertThat(opensearch.requests).hasSize(1);
      assertThat(letters(harness)).isEmpty();
    }
  }

  @Test
  void anUnreadableAnswerIsRetriedLikeAnUnavailableCluster() throws Exception {
    int[] failures = {2};
    opensearch.perRequest =
        r ->
            failures[0]-- > 0
                ? new IllegalStateException("Unexpected character ('<'): <html>502 Bad Gateway")
                : null;
    try (var harness = harness(100)) {
      feed(harness, document("d", 2));
      harness.prepareSnapshotPreBarrier(1);
      assertThat(opensearch.requests).hasSize(3);
      assertThat(letters(harness)).isEmpty();
      assertThat(opensearch.index).hasSize(2);
    }
  }
}
