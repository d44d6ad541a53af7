package dev.streamrag.ingest;

import java.util.Objects;

/**
 * What the index must do for one chunk: write it (with its vector, once embedded) or delete it. A
 * Flink POJO: public fields and a no-argument constructor, so it travels without Kryo.
 *
 * <p>The actions one document version turns into form a <em>group</em> ({@link #group}, {@link
 * #groupSize}): the index writer reports the document once, as indexed or as one dead letter, when
 * it has seen the whole group. The group's first action carries what that dead letter keeps of the
 * document ({@link #document}).
 */
public class ChunkAction {
  /** Write or delete. */
  public enum Kind {
    UPSERT,
    DELETE
  }

  public Kind kind;

  /** {@link #chunkId}: re-ingesting a document overwrites its chunks, never duplicates. */
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

  /** The document version this action belongs to (random, unique among those in flight). */
  public long group;

  /** How many actions the document version has. */
  public int groupSize;

  /**
   * On the group's first action only: the document as its dead letter keeps it (JSON, text cut to a
   * bound); null on the others.
   */
  public byte[] document;

  /** Set when a step failed on this action: the dead-letter reason code, and the reason. */
  public String failureCode;

  public String failureReason;

  public ChunkAction() {}

  /**
   * The id of a document's chunk {@code chunkIndex}: {@code tenant:docId:n}, with the tenant
   * escaped by {@link #escapeTenant} so it can never contain ':'. That makes the id collision-proof
   * whatever the ids hold: the first ':' ends the tenant, the last one starts the chunk number
   * (digits only), and the document id is everything between. Tenant ids that follow the rules
   * contain neither ':' nor '%', so for them the id is the same as before escaping (indexes built
   * earlier stay valid).
   */
  public static String chunkId(String tenantId, String docId, int chunkIndex) {
    return documentKey(tenantId, docId) + ":" + chunkIndex;
  }

  /**
   * The key of a document's state: {@code tenant:docId} with the tenant escaped, unambiguous for
   * the same reason as {@link #chunkId}. Tenant "a:b" with document "c" and tenant "a" with
   * document "b:c" get different keys ("a%3Ab:c" and "a:b:c").
   */
  public static String documentKey(String tenantId, String docId) {
    return escapeTenant(tenantId) + ":" + docId;
  }

  /** '%' becomes "%25" and ':' becomes "%3A"; nothing else changes. Injective, never holds ':'. */
  static String escapeTenant(String tenantId) {
    if (tenantId.indexOf('%') < 0 && tenantId.indexOf(':') < 0) {
      return tenantId;
    }
    return tenantId.replace("%", "%25").replace(":", "%3A");
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

  /**
   * The text the model embeds for this chunk: title and chunk, so short chunks keep context. Null
   * for deletes and for actions a step already failed on (nothing to embed).
   */
  public String embeddingText() {
    if (kind != Kind.UPSERT || failureCode != null) {
      return null;
    }
    return title == null || title.isBlank() ? text : title + "\n" + text;
  }

  /** Marks this action failed (the first failure wins). */
  public ChunkAction fail(String code, String reason) {
    if (failureCode == null) {
      failureCode = code;
      failureReason = reason;
    }
    return this;
  }

  @Override
  public String toString() {
    return kind + " " + chunkId + (failureCode == null ? "" : " (" + failureCode + ")");
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
