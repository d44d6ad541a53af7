package dev.streamrag.jobs.retrieve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The chunk index in OpenSearch: created when the job starts if it does not exist, with a {@code
 * knn_vector} field of the model's dimension (HNSW on the Lucene engine, cosine), the tenant as a
 * keyword for filtering, and the chunk text for BM25 and hybrid search.
 *
 * <p>Uses OpenSearch's low-level REST client (already on the classpath with the connector): the
 * mapping is a JSON document, which the typed client would only make longer.
 */
public final class ChunkIndex {
  /** Field names, shared by the writer and by retrieval. */
  public static final String VECTOR = "embedding";

  public static final String TENANT = "tenant_id";
  public static final String DOC_ID = "doc_id";
  public static final String CHUNK_INDEX = "chunk_index";
  public static final String TITLE = "title";
  public static final String TEXT = "text";
  public static final String SOURCE = "source";
  public static final String UPDATED_AT = "updated_at";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ChunkIndex() {}

  /** The index settings and mappings for vectors of {@code dimension}. */
  public static ObjectNode definition(int dimension, int shards, int replicas) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode settings = root.putObject("settings").putObject("index");
    settings.put("knn", true);
    settings.put("number_of_shards", shards);
    settings.put("number_of_replicas", replicas);
    ObjectNode properties = root.putObject("mappings").putObject("properties");
    ObjectNode vector = properties.putObject(VECTOR);
    vector.put("type", "knn_vector");
    vector.put("dimension", dimension);
    ObjectNode method = vector.putObject("method");
    method.put("name", "hnsw");
    method.put("engine", "lucene");
    method.put("space_type", "cosinesimil");
    method.putObject("parameters").put("m", 16).put("ef_construction", 128);
    properties.putObject(TENANT).put("type", "keyword");
    properties.putObject(DOC_ID).put("type", "keyword");
    properties.putObject(CHUNK_INDEX).put("type", "integer");
    properties.putObject(TITLE).put("type", "text");
    properties.putObject(TEXT).put("type", "text");
    properties.putObject(SOURCE).put("type", "keyword");
    properties.putObject(UPDATED_AT).put("type", "date").put("format", "epoch_millis");
    return root;
  }
}
