package dev.streamrag.ingest;

import dev.streamrag.jobs.chunk.Chunk;
import dev.streamrag.jobs.chunk.TokenChunker;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.ModelTokenizer;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.RecordCodec;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Turns each version of a document into index actions, keyed by tenant and document id.
 *
 * <ul>
 *   <li>A new or updated document: an UPSERT per chunk (ids {@code tenant:docId:n}), plus a DELETE
 *       for every chunk the previous version had beyond the new count, which this keeps in keyed
 *       state. Re-ingesting the same text rewrites the same ids: no duplicates.
 *   <li>A deleted document, or one whose text is now empty: a DELETE per chunk it had. If this job
 *       never saw it (state lost, or ingested by another run), it deletes every chunk id a document
 *       within the size limit can have, so nothing survives a delete.
 *   <li>A document over the size limit, or with a blank id or tenant: a dead letter with the reason
 *       on {@link SplitDeadLetters#DEAD_LETTERS}; its old chunks stay as they were.
 * </ul>
 */
public class DocumentChunking extends KeyedProcessFunction<String, Document, ChunkAction> {
  private static final long serialVersionUID = 1L;

  /** At most this much of a refused document's text is kept in its dead letter. */
  static final int DEAD_LETTER_TEXT_CHARS = 64 * 1024;

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
    return document.getTenantId() + ":" + document.getDocId();
  }

  /** The most chunks a document within the size limit can have (one token per character). */
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
    if (tenant.isBlank() || docId.isBlank()) {
      reject(document, ctx, "document.invalid", "docId and tenantId must not be blank");
      return;
    }
    Integer previous = chunkCount.value();
    String text = document.getText().toString();
    if (document.getDeleted() || text.isBlank()) {
      int known = previous == null ? maxChunks() : previous;
      for (int i = 0; i < known; i++) {
        out.collect(ChunkAction.delete(tenant, docId, i));
      }
      chunkCount.clear();
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
    List<Chunk> chunks = chunker.chunk(text);
    for (Chunk chunk : chunks) {
      ChunkAction action = new ChunkAction();
      action.kind = ChunkAction.Kind.UPSERT;
      action.tenantId = tenant;
      action.docId = docId;
      action.chunkIndex = chunk.index();
      action.chunkId = ChunkAction.chunkId(tenant, docId, chunk.index());
      action.text = chunk.text();
      action.title = document.getTitle() == null ? null : document.getTitle().toString();
      action.source = document.getSource() == null ? null : document.getSource().toString();
      action.updatedAt =
          document.getUpdatedAt() == null ? null : document.getUpdatedAt().toEpochMilli();
      out.collect(action);
    }
    // An unknown previous version may have had more chunks; without state, only a delete or a
    // later update it knows of can remove them. Known surplus chunks go now.
    for (int i = chunks.size(); previous != null && i < previous; i++) {
      out.collect(ChunkAction.delete(tenant, docId, i));
    }
    chunkCount.update(chunks.size());
  }

  private void reject(Document document, Context ctx, String code, String reason) {
    Document kept = Document.newBuilder(document).build();
    if (kept.getText().length() > DEAD_LETTER_TEXT_CHARS) {
      kept.setText(kept.getText().toString().substring(0, DEAD_LETTER_TEXT_CHARS));
      reason += "; dead letter keeps the first " + DEAD_LETTER_TEXT_CHARS + " characters";
    }
    ctx.output(
        SplitDeadLetters.DEAD_LETTERS,
        DeadLetters.rejected(
            code,
            reason,
            "chunk",
            jobName,
            codec.encodeJson(kept),
            document.getDocId().toString(),
            document.getTenantId().toString(),
            Instant.now()));
  }

  @Override
  public void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
