package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.http.HttpHost;
import org.apache.http.client.config.RequestConfig;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.action.bulk.BulkItemResponse;
import org.opensearch.action.bulk.BulkRequest;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.delete.DeleteRequest;
import org.opensearch.action.index.IndexRequest;
import org.opensearch.client.RequestOptions;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestClient;
import org.opensearch.client.RestHighLevelClient;

/**
 * Bulk writes to OpenSearch with the REST high-level client (on the classpath with Flink's
 * OpenSearch connector): an UPSERT becomes an index request by chunk id, a DELETE a delete by chunk
 * id. Per-action failures come back as results; a refused request as {@link RequestFailed}.
 */
public final class OpenSearchBulkTransport implements BulkTransport {
  /** A failure message kept in a result: enough for the reason, bounded. */
  private static final int MAX_ERROR_CHARS = 1_000;

  /**
   * Explicit, so no request waits on the client's defaults; a request's own timeout (what is left
   * of its flush's deadline) shortens them further.
   */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(30);

  private final RestHighLevelClient client;
  private final String index;

  private OpenSearchBulkTransport(URI url, String index) {
    this.client =
        new RestHighLevelClient(
            RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme()))
                .setRequestConfigCallback(
                    config ->
                        config
                            .setConnectTimeout((int) CONNECT_TIMEOUT.toMillis())
                            .setConnectionRequestTimeout((int) CONNECT_TIMEOUT.toMillis())
                            .setSocketTimeout((int) SOCKET_TIMEOUT.toMillis())));
    this.index = index;
  }

  /** A factory for {@code index} at {@code url}, to open on the task. */
  public static Factory factory(URI url, String index) {
    return () -> new OpenSearchBulkTransport(url, index);
  }

  @Override
  public List<ItemResult> send(List<ChunkAction> actions, Duration timeout) throws IOException {
    BulkRequest bulk = new BulkRequest();
    for (ChunkAction action : actions) {
      bulk.add(
          action.kind == ChunkAction.Kind.DELETE
              ? new DeleteRequest(index, action.chunkId)
              : new IndexRequest(index).id(action.chunkId).source(source(action)));
    }
    BulkResponse response;
    try {
      response = client.bulk(bulk, options(timeout));
    } catch (OpenSearchStatusException e) {
      throw new RequestFailed(e.status().getStatus(), clip(e.getMessage()));
    } catch (ResponseException e) {
      throw new RequestFailed(
          e.getResponse().getStatusLine().getStatusCode(), clip(e.getMessage()));
    }
    List<ItemResult> results = new ArrayList<>(actions.size());
    for (BulkItemResponse item : response.getItems()) {
      results.add(
          item.isFailed()
              ? new ItemResult(
                  item.getFailure().getStatus().getStatus(), clip(item.getFailureMessage()))
              : ItemResult.OK);
    }
    return results;
  }

  /** The client's timeouts, none longer than {@code timeout}, so a flush keeps its deadline. */
  private static RequestOptions options(Duration timeout) {
    int total = (int) Math.max(1, Math.min(SOCKET_TIMEOUT.toMillis(), timeout.toMillis()));
    int connect = (int) Math.min(CONNECT_TIMEOUT.toMillis(), total);
    return RequestOptions.DEFAULT.toBuilder()
        .setRequestConfig(
            RequestConfig.custom()
                .setConnectTimeout(connect)
                .setConnectionRequestTimeout(connect)
                .setSocketTimeout(total)
                .build())
        .build();
  }

  private static Map<String, Object> source(ChunkAction action) {
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
    return source;
  }

  private static String clip(String message) {
    if (message == null) {
      return "no message";
    }
    return message.length() <= MAX_ERROR_CHARS
        ? message
        : message.substring(0, MAX_ERROR_CHARS) + "…";
  }

  @Override
  public void close() throws IOException {
    client.close();
  }
}
