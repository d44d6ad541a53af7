package dev.streamrag.ingest;

import dev.streamrag.jobs.chunk.Chunk;
import dev.streamrag.jobs.chunk.TokenChunker;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.ModelTokenizer;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.ids.Identifiers;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Turns each version of a document into index actions, keyed by tenant and document id ({@link
 * ChunkAction#documentKey}, collision-proof).
 *
 * <ul>
 *   <li>A new or updated document: an UPSERT per chunk (ids {@link ChunkAction#chunkId}), plus a
 *       DELETE for every chunk the previous version had beyond the new count, which this keeps in
 *       keyed state. Re-ingesting the same text rewrites the same ids: no duplicates.
 *   <li>A deleted document, or one whose text is now empty: a DELETE per chunk it had. If this job
 *       never saw it (state lost, or ingested by another run), it deletes every chunk id a document
 *       within the size limit can have, so nothing survives a delete.
 *   <li>A document that breaks a rule (ids, title, source, size, chunk count) or cannot be chunked:
 *       a dead letter with the reason on {@link SplitDeadLetters#DEAD_LETTERS}; its old chunks stay
 *       as they were and its state is untouched.
 * </ul>
 *
 * The actions of one version form a group (see {@link ChunkAction}), so the index writer can report
 * the version once. Control characters other than tab and line breaks become spaces in title and
 * text, and unpaired surrogates become U+FFFD: they carry no meaning for search and would otherwise
 * reach prompts and the index as escapes.
 */
public class DocumentChunking extends KeyedProcessFunction<String, Document, ChunkAction> {
  private static final long serialVersionUID = 1L;

  /** At most this much of a document's text is kept in its dead letter. */
  static final int DEAD_LETTER_TEXT_CHARS = 64 * 1024;

  /** At most this much of ids, title, source and metadata together is kept in a dead letter. */
  static final int DEAD_LETTER_OTHER_CHARS = 16 * 1024;

  /** Titles are repeated in every chunk and embedded with it: a sentence, not a document. */
  static final int MAX_TITLE_CHARS = 1_000;

  /** A URI or path; the index keeps it as one keyword. */
  static final int MAX_SOURCE_CHARS = 2_048;

  private final EmbeddingModelSpec model;
  private final int chunkTokens;
  private final int overlapTokens;
  private final int maxDocumentChars;
  private final String jobName;

  private transient ModelTokenizer tokenizer;
  private transient TokenChunker chunker;
  private transient ValueState<Integer> chunkCount;
  private transient RecordCodec<Document> codec;

  public DocumentChunking(
      EmbeddingModelSpec model,
      int chunkTokens,
      int overlapTokens,
      int maxDocumentChars,
      String jobName) {
    this.model = model;
    this.chunkTokens = chunkTokens;
    this.overlapTokens = overlapTokens;
    this.maxDocumentChars = maxDocumentChars;
    this.jobName = jobName;
    TokenChunker.checkSettings(chunkTokens, overlapTokens); // fail when the job is built
  }

  /** The key: tenant and document id, so equal doc ids of different tenants never mix. */
  public static String key(Document document) {
    return ChunkAction.documentKey(
        document.getTenantId().toString(), document.getDocId().toString());
  }

  /**
   * The most chunks a document may have: as many as one within the size limit has at one token per
   * character. More (windows shortened to word boundaries can step less far) is refused, so a
   * delete without state always covers every chunk id.
   */
  int maxChunks() {
    int step = chunkTokens - overlapTokens;
    return Math.max(1, (maxDocumentChars - overlapTokens + step - 1) / step);
  }

  @Override
  public void open(OpenContext context) {
    tokenizer = ModelTokenizer.load(model);
    chunker = new TokenChunker(tokenizer, chunkTokens, overlapTokens);
    chunkCount = getRuntimeContext().getState(new ValueStateDescriptor<>("chunk-count", Types.INT));
    codec = RecordCodec.of(Document.class);
  }

  @Override
  public void processElement(Document document, Context ctx, Collector<ChunkAction> out)
      throws Exception {
    String tenant = document.getTenantId().toString();
    String docId = document.getDocId().toString();
    if (!Identifiers.validTenantId(tenant)) {
      reject(document, ctx, "validation.tenant_id", "tenantId must be " + Identifiers.TENANT_RULE);
      return;
    }
    if (!Identifiers.validDocId(docId)) {
      reject(document, ctx, "validation.doc_id", "docId must be " + Identifiers.DOC_ID_RULE);
      return;
    }
    Integer previous = chunkCount.value();
    String text = document.getText() == null ? "" : clean(document.getText().toString(), true);
    if (document.getDeleted() || text.isBlank()) {
      int known = previous == null ? maxChunks() : previous;
      List<ChunkAction> deletes = new ArrayList<>(known);
      for (int i = 0; i < known; i++) {
        deletes.add(ChunkAction.delete(tenant, docId, i));
      }
      emit(document, deletes, out);
      chunkCount.clear();
      return;
    }
    String title =
        document.getTitle() == null ? null : clean(document.getTitle().toString(), false);
    if (title != null && title.length() > MAX_TITLE_CHARS) {
      reject(
          document,
          ctx,
          "validation.title",
          "title has " + title.length() + " characters, the limit is " + MAX_TITLE_CHARS);
      return;
    }
    String source = document.getSource() == null ? null : document.getSource().toString();
    if (source != null
        && (source.length() > MAX_SOURCE_CHARS
            || source.chars().anyMatch(Character::isISOControl))) {
      reject(
          document,
          ctx,
          "validation.source",
          "source must be at most " + MAX_SOURCE_CHARS + " characters, without control characters");
      return;
    }
    Long updatedAt;
    try {
      updatedAt = document.getUpdatedAt() == null ? null : document.getUpdatedAt().toEpochMilli();
    } catch (ArithmeticException e) {
      reject(document, ctx, "validation.updated_at", "updatedAt is out of range");
      return;
    }
    if (text.length() > maxDocumentChars) {
      reject(
          document,
          ctx,
          "document.too_large",
          "text has "
              + text.length()
              + " characters, more than the limit of "
              + maxDocumentChars
              + " (ingest.max-document-chars)");
      return;
    }
    List<Chunk> chunks;
    try {
      chunks = chunker.chunk(text);
    } catch (RuntimeException e) { // the tokenizer on text nobody anticipated: a value, not a crash
      reject(document, ctx, "chunk.failed", "cannot chunk the text: " + e);
      return;
    }
    if (chunks.isEmpty()) {
      reject(document, ctx, "document.no_tokens", "the text has no tokens the model can read");
      return;
    }
    if (chunks.size() > maxChunks()) {
      reject(
          document,
          ctx,
          "document.too_many_chunks",
          "text makes "
              + chunks.size()
              + " chunks, more than the limit of "
              + maxChunks()
              + " (ingest.max-document-chars at one token per character)");
      return;
    }
    List<ChunkAction> actions =
        new ArrayList<>(Math.max(chunks.size(), previous == null ? 0 : previous));
    for (Chunk chunk : chunks) {
      ChunkAction action = new ChunkAction();
      action.kind = ChunkAction.Kind.UPSERT;
      action.tenantId = tenant;
      action.docId = docId;
      action.chunkIndex = chunk.index();
      action.chunkId = ChunkAction.chunkId(tenant, docId, chunk.index());
      action.text = chunk.text();
      action.title = title;
      action.source = source;
      action.updatedAt = updatedAt;
      actions.add(action);
    }
    // An unknown previous version may have had more chunks; without state, only a delete or a
    // later update it knows of can remove them. Known surplus chunks go now.
    for (int i = chunks.size(); previous != null && i < previous; i++) {
      actions.add(ChunkAction.delete(tenant, docId, i));
    }
    emit(document, actions, out);
    chunkCount.update(chunks.size());
  }

  /** Emits one document version's actions as a group; the first carries the document. */
  private void emit(Document document, List<ChunkAction> actions, Collector<ChunkAction> out) {
    long group = ThreadLocalRandom.current().nextLong();
    for (ChunkAction action : actions) {
      action.group = group;
      action.groupSize = actions.size();
    }
    actions.get(0).document = kept(document);
    actions.forEach(out::collect);
  }

  /**
   * The document as a dead letter keeps it: JSON, the text cut to its first 64 Ki characters, ids,
   * title, source and metadata to {@link #DEAD_LETTER_OTHER_CHARS} together, and the whole to the
   * dead-letter payload limit. Cut here, when it is made, because it travels with every version and
   * waits in the embedding and index buffers: a document's metadata alone may be megabytes.
   */
  private byte[] kept(Document document) {
    int[] budget = {DEAD_LETTER_OTHER_CHARS};
    Document.Builder kept =
        Document.newBuilder()
            .setDocId(cut(document.getDocId(), budget))
            .setTenantId(cut(document.getTenantId(), budget))
            .setTitle(cut(document.getTitle(), budget))
            .setSource(cut(document.getSource(), budget))
            .setUpdatedAt(document.getUpdatedAt())
            .setDeleted(document.getDeleted())
            .setText(
                document.getText() == null
                    ? ""
                    : cut(document.getText(), new int[] {DEAD_LETTER_TEXT_CHARS}));
    Map<String, String> metadata = new LinkedHashMap<>();
    if (document.getMetadata() != null) {
      for (Map.Entry<String, String> entry : document.getMetadata().entrySet()) {
        if (budget[0] <= 0) {
          break;
        }
        metadata.put(cut(entry.getKey(), budget), cut(entry.getValue(), budget));
      }
    }
    byte[] json = codec.encodeJson(kept.setMetadata(metadata).build());
    // Escaped control characters take six bytes each: the characters kept can still be too many.
    return json.length <= DeadLetters.MAX_PAYLOAD_BYTES
        ? json
        : Arrays.copyOf(json, DeadLetters.MAX_PAYLOAD_BYTES);
  }

  /** {@code value}'s start, at most {@code budget[0]} characters, which it uses up; null stays. */
  private static String cut(String value, int[] budget) {
    if (value == null) {
      return null;
    }
    int end = Math.min(value.length(), Math.max(0, budget[0]));
    if (end > 0 && end < value.length() && Character.isHighSurrogate(value.charAt(end - 1))) {
      end--; // never half a pair
    }
    budget[0] -= end;
    return value.substring(0, end);
  }

  private void reject(Document document, Context ctx, String code, String reason) {
    if (document.getText() != null && document.getText().length() > DEAD_LETTER_TEXT_CHARS) {
      reason += "; dead letter keeps the first " + DEAD_LETTER_TEXT_CHARS + " characters";
    }
    ctx.output(
        SplitDeadLetters.DEAD_LETTERS,
        DeadLetters.rejected(
            code,
            reason,
            "chunk",
            jobName,
            kept(document),
            document.getDocId().toString(),
            document.getTenantId().toString(),
            Instant.now()));
  }

  /**
   * {@code value} with control characters as spaces (tab, line feed and carriage return kept in
   * text) and unpaired surrogates as U+FFFD; the same string when there is nothing to replace.
   */
  static String clean(String value, boolean keepLineBreaks) {
    StringBuilder cleaned = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      char replacement = c;
      if (Character.isISOControl(c)) {
        boolean kept = keepLineBreaks && (c == '\t' || c == '\n' || c == '\r');
        replacement = kept ? c : ' ';
      } else if (Character.isHighSurrogate(c)) {
        if (i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
          if (cleaned != null) {
            cleaned.append(c).append(value.charAt(i + 1));
          }
          i++;
          continue;
        }
        replacement = '\uFFFD';
      } else if (Character.isLowSurrogate(c)) {
        replacement = '\uFFFD';
      }
      if (replacement != c && cleaned == null) {
        cleaned = new StringBuilder(value.length()).append(value, 0, i);
      }
      if (cleaned != null) {
        cleaned.append(replacement);
      }
    }
    return cleaned == null ? value : cleaned.toString();
  }

  @Override
  public void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
