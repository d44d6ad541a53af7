package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.connector.opensearch.sink.OpensearchEmitter;
import org.apache.flink.connector.opensearch.sink.RequestIndexer;
import org.opensearch.action.delete.DeleteRequest;
import org.opensearch.action.index.IndexRequest;

/** Turns chunk actions into the connector's bulk requests: index by chunk id, or delete it. */
public final class ChunkIndexEmitter implements OpensearchEmitter<ChunkAction> {
  private static final long serialVersionUID = 1L;

  private final String index;

  public ChunkIndexEmitter(String index) {
    this.index = index;
  }

  @Override
  public void emit(ChunkAction action, SinkWriter.Context context, RequestIndexer indexer) {
    if (action.kind == ChunkAction.Kind.DELETE) {
      indexer.add(new DeleteRequest(index, action.chunkId));
      return;
    }
    if (action.vector == null) {
      throw new IllegalStateException("chunk " + action.chunkId + " reached the index unembedded");
    }
    Map<String, Object> source = new HashMap<>();
    source.put(ChunkIndex.VECTOR, action.vector);
    source.put(ChunkIndex.TENANT, action.tenantId);
    source.put(ChunkIndex.DOC_ID, action.docId);
    source.put(ChunkIndex.CHUNK_INDEX, action.chunkIndex);
    source.put(ChunkIndex.TITLE, action.title);
    source.put(ChunkIndex.TEXT, action.text);
    source.put(ChunkIndex.SOURCE, action.source);
    source.put(ChunkIndex.UPDATED_AT, action.updatedAt);
    indexer.add(new IndexRequest(index).id(action.chunkId).source(source));
  }
}
