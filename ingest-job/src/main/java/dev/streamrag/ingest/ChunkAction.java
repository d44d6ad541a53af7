package dev.streamrag.ingest;

import java.util.Objects;

/**
 * What the index must do for one chunk: write it (with its vector, once embedded) or delete it. A
 * Flink POJO: public fields and a no-argument constructor, so it travels without Kryo.
 */
public class ChunkAction {
  /** Write or delete. */
  public enum Kind {
    UPSERT,
    DELETE
  }

  public Kind kind;

  /** {@code tenant:docId:n}: re-ingesting a document overwrites its chunks, never duplicates. */
  public String chunkId;

  public String tenantId;
  public String docId;
  public int chunkIndex;

  /** For UPSERT: the chunk's text, stored for BM25 and for prompts. */
  public String text;

  public String title;
  public String source;

  /** Epoch milliseconds, or null when the document did not say. */
  public Long updatedAt;

  /** For UPSERT: the unit vector of title + text, set by the embedding step. */
  public float[] vector;

  public ChunkAction() {}

  public static String chunkId(String tenantId, String docId, int chunkIndex) {
    return tenantId + ":" + docId + ":" + chunkIndex;
  }

  static ChunkAction delete(String tenantId, String docId, int chunkIndex) {
    ChunkAction action = new ChunkAction();
    action.kind = Kind.DELETE;
    action.tenantId = tenantId;
    action.docId = docId;
    action.chunkIndex = chunkIndex;
    action.chunkId = chunkId(tenantId, docId, chunkIndex);
    return action;
  }

  /** The text the model embeds for this chunk: title and chunk, so short chunks keep context. */
  public String embeddingText() {
    if (kind != Kind.UPSERT) {
      return null;
    }
    return title == null || title.isBlank() ? text : title + "\n" + text;
  }

  @Override
  public String toString() {
    return kind + " " + chunkId;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ChunkAction that
        && kind == that.kind
        && chunkIndex == that.chunkIndex
        && Objects.equals(chunkId, that.chunkId)
        && Objects.equals(text, that.text);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, chunkId, chunkIndex, text);
  }
}
