package dev.streamrag.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Document versions to index actions, with the keyed chunk count, on Flink's test harness. */
class DocumentChunkingTest {
  /** Chunks of 16 tokens, 4 overlapping; documents up to 2,000 characters. */
  private static final int MAX_CHARS = 2_000;

  private KeyedOneInputStreamOperatorTestHarness<String, Document, ChunkAction> harness;

  @BeforeEach
  void open() throws Exception {
    harness =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(
                new DocumentChunking(
                    EmbeddingModelSpec.ALL_MINILM_L6_V2, 16, 4, MAX_CHARS, "ingest-test")),
            DocumentChunking::key,
            Types.STRING);
    harness.open();
  }

  @AfterEach
  void close() throws Exception {
    harness.close();
  }

  private static Document doc(String id, String text, boolean deleted) {
    return Document.newBuilder()
        .setDocId(id)
        .setTenantId("acme")
        .setTitle("Title " + id)
        .setText(text)
        .setSource(null)
        .setUpdatedAt(null)
        .setDeleted(deleted)
        .setMetadata(Map.of())
        .build();
  }

  private static String words(int count) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < count; i++) {
      text.append(i == 0 ? "" : " ").append("word").append(i % 10);
    }
    return text.toString();
  }

  private List<ChunkAction> drain() {
    List<ChunkAction> actions =
        harness.extractOutputValues().stream().map(a -> (ChunkAction) a).toList();
    harness.getOutput().clear();
    return actions;
  }

  private static List<String> ids(List<ChunkAction> actions, ChunkAction.Kind kind) {
    return actions.stream().filter(a -> a.kind == kind).map(a -> a.chunkId).toList();
  }

  @Test
  void aNewDocumentBecomesUpsertsWithStableIdsAndReingestingRepeatsThem() throws Exception {
    harness.processElement(new StreamRecord<>(doc("d1", words(40), false)));
    List<ChunkAction> first = drain();
    assertThat(first).allSatisfy(a -> assertThat(a.kind).isEqualTo(ChunkAction.Kind.UPSERT));
    assertThat(first.size()).isGreaterThan(1);
    assertThat(first.get(0).chunkId).isEqualTo("acme:d1:0");
    assertThat(first.get(0).embeddingText()).startsWith("Title d1\nword0 word1");

    harness.processElement(new StreamRecord<>(doc("d1", words(40), false)));
    assertThat(drain()).isEqualTo(first);
  }

  @Test
  void anUpdateWithFewerChunksDeletesTheSurplus() throws Exception {
    harness.processElement(new StreamRecord<>(doc("d1", words(80), false)));
    int before = drain().size();
    harness.processElement(new StreamRecord<>(doc("d1", words(4), false)));
    List<ChunkAction> update = drain();
    assertThat(ids(update, ChunkAction.Kind.UPSERT)).containsExactly("acme:d1:0");
    assertThat(ids(update, ChunkAction.Kind.DELETE)).hasSize(before - 1).contains("acme:d1:1");
  }

  @Test
  void aDeletedDocumentDeletesExactlyTheChunksItHad() throws Exception {
    harness.processElement(new StreamRecord<>(doc("d1", words(40), false)));
    int chunks = drain().size();
    harness.processElement(new StreamRecord<>(doc("d1", "", true)));
    List<ChunkAction> deletes = drain();
    assertThat(deletes).hasSize(chunks);
    assertThat(deletes).allSatisfy(a -> assertThat(a.kind).isEqualTo(ChunkAction.Kind.DELETE));
  }

  @Test
  void deletingADocumentThisJobNeverSawDeletesEveryPossibleChunk() throws Exception {
    harness.processElement(new StreamRecord<>(doc("unknown", "", true)));
    // 2,000 characters at one token each, windows advancing by 12 tokens: 167 chunk ids.
    assertThat(drain()).hasSize((MAX_CHARS - 4 + 11) / 12);
  }

  @Test
  void tooLargeAndInvalidDocumentsAreDeadLetteredAndLeaveTheIndexAlone() throws Exception {
    harness.processElement(new StreamRecord<>(doc("d1", words(20), false)));
    drain();
    harness.processElement(new StreamRecord<>(doc("d1", "x".repeat(100_000), false)));
    Document blankTenant = doc("d2", "text", false);
    blankTenant.setTenantId(" ");
    harness.processElement(new StreamRecord<>(blankTenant));

    assertThat(drain()).isEmpty();
    ConcurrentLinkedQueue<StreamRecord<DeadLetter>> dead =
        harness.getSideOutput(SplitDeadLetters.DEAD_LETTERS);
    List<DeadLetter> letters = dead.stream().map(StreamRecord::getValue).toList();
    assertThat(letters).hasSize(2);
    DeadLetter large = letters.get(0);
    assertThat(large.getReasonCode().toString()).isEqualTo("document.too_large");
    assertThat(large.getReason().toString())
        .contains("100000 characters", "limit of 2000", "keeps the first 65536");
    assertThat(large.getRequestId().toString()).isEqualTo("d1");
    String payload = StandardCharsets.UTF_8.decode(large.getPayload()).toString();
    assertThat(payload).contains("\"docId\":\"d1\"").hasSizeLessThan(70_000);
    assertThat(letters.get(1).getReasonCode().toString()).isEqualTo("validation.tenant_id");
  }

  private List<DeadLetter> letters() {
    ConcurrentLinkedQueue<StreamRecord<DeadLetter>> dead =
        harness.getSideOutput(SplitDeadLetters.DEAD_LETTERS);
    return dead == null ? List.of() : dead.stream().map(StreamRecord::getValue).toList();
  }

  private static Document doc(String tenant, String id, String text) {
    Document document = doc(id, text, false);
    document.setTenantId(tenant);
    return document;
  }

  @Test
  void idsBreakingTheRulesAreDeadLetteredWithTheirCode() throws Exception {
    harness.processElement(new StreamRecord<>(doc("a:b", "c", words(5))));
    harness.processElement(new StreamRecord<>(doc("acme", "bad\u0000id", words(5))));
    harness.processElement(new StreamRecord<>(doc("acme", "x".repeat(257), words(5))));
    harness.processElement(new StreamRecord<>(doc("acme", " ", words(5))));
    Document longTitle = doc("t", words(5), false);
    longTitle.setTitle("t".repeat(1_001));
    harness.processElement(new StreamRecord<>(longTitle));
    Document longSource = doc("s", words(5), false);
    longSource.setSource("s".repeat(2_049));
    harness.processElement(new StreamRecord<>(longSource));
    assertThat(drain()).isEmpty();
    assertThat(letters())
        .extracting(l -> l.getReasonCode().toString())
        .containsExactly(
            "validation.tenant_id",
            "validation.doc_id",
            "validation.doc_id",
            "validation.doc_id",
            "validation.title",
            "validation.source");
  }

  @Test
  void separatorsInDocumentIdsCannotMakeTwoTenantsCollide() throws Exception {
    // Tenant "a" with doc "b:c" and (were it allowed) tenant "a:b" with doc "c": different keys.
    assertThat(ChunkAction.documentKey("a", "b:c"))
        .isNotEqualTo(ChunkAction.documentKey("a:b", "c"));
    assertThat(ChunkAction.chunkId("a", "b:c", 0)).isNotEqualTo(ChunkAction.chunkId("a:b", "c", 0));
    assertThat(ChunkAction.chunkId("a%3Ab", "c", 0))
        .isNotEqualTo(ChunkAction.chunkId("a:b", "c", 0));
    // Valid tenants keep the format indexes were built with.
    assertThat(ChunkAction.chunkId("acme", "guides/setup.md", 3))
        .isEqualTo("acme:guides/setup.md:3");

    harness.processElement(new StreamRecord<>(doc("a", "b:c", words(5))));
    assertThat(drain()).extracting(a -> a.chunkId).containsExactly("a:b:c:0");
  }

  @Test
  void controlCharactersBecomeSpacesAndTheActionsOfAVersionFormOneGroup() throws Exception {
    Document dirty = doc("d1", "alpha\u0000beta\u001b[31m gamma\ndelta \uD800", false);
    dirty.setTitle("Ti\ttle\u0007");
    harness.processElement(new StreamRecord<>(dirty));
    List<ChunkAction> actions = drain();
    assertThat(actions).singleElement();
    ChunkAction action = actions.get(0);
    assertThat(action.text).isEqualTo("alpha beta [31m gamma\ndelta"); // U+FFFD has no token
    assertThat(DocumentChunking.clean("a\uD800b\uDC00\uD83D\uDE00\r\n", true))
        .isEqualTo("a\uFFFDb\uFFFD\uD83D\uDE00\r\n");
    assertThat(action.title).isEqualTo("Ti tle ");
    assertThat(action.groupSize).isEqualTo(1);
    assertThat(new String(action.document, StandardCharsets.UTF_8)).contains("\"docId\":\"d1\"");

    harness.processElement(new StreamRecord<>(doc("d2", words(60), false)));
    List<ChunkAction> group = drain();
    assertThat(group).hasSizeGreaterThan(1);
    assertThat(group).allMatch(a -> a.group == group.get(0).group && a.groupSize == group.size());
    assertThat(group.subList(1, group.size())).allMatch(a -> a.document == null);
  }

  @Test
  void whatAVersionKeepsForItsDeadLetterIsCutWhenMadeHoweverLargeItsMetadata() throws Exception {
    Document big = doc("d1", words(20), false);
    // 4 MiB of metadata, escaped to six bytes a character: 24 MiB as JSON if kept whole.
    big.setMetadata(Map.of("a", "\u0001".repeat(2 << 20), "b", "\u0001".repeat(2 << 20)));
    harness.processElement(new StreamRecord<>(big));
    List<ChunkAction> actions = drain();
    assertThat(actions).isNotEmpty();
    assertThat(actions.get(0).document.length)
        .isLessThanOrEqualTo(DeadLetters.MAX_PAYLOAD_BYTES)
        .isGreaterThan(DocumentChunking.DEAD_LETTER_OTHER_CHARS);
    assertThat(new String(actions.get(0).document, StandardCharsets.UTF_8))
        .startsWith("{\"docId\":\"d1\"");
  }

  @Test
  void textWithoutTokensIsDeadLetteredNotSilentlyDropped() throws Exception {
    harness.processElement(new StreamRecord<>(doc("d1", "\u200B\u200B\u200B", false)));
    assertThat(drain()).isEmpty();
    assertThat(letters())
        .extracting(l -> l.getReasonCode().toString())
        .containsExactly("document.no_tokens");
  }
}
