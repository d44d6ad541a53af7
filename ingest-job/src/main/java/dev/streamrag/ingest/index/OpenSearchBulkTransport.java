package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import dev.streamrag.jobs.retrieve.OpenSearchAccessException;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.http.client.config.RequestConfig;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.action.bulk.BulkItemResponse;
import org.opensearch.action.bulk.BulkRequest;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.delete.DeleteRequest;
import org.opensearch.action.index.IndexRequest;
import org.opensearch.client.RequestOptions;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestHighLevelClient;

/**
 * Bulk writes to OpenSearch with the REST high-level client (on the classpath with Flink's
 * OpenSearch connector): an UPSERT becomes an index request by chunk id, a DELETE a delete by chunk
 * id. Per-action failures come back as results; a refused request as {@link RequestFailed} (a
 * refused login or permission saying which settings to check); an untrusted certificate as {@link
 * OpenSearchAccessException}. Logs in and trusts as its {@link OpenSearchEndpoint} says.
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
  private final OpenSearchEndpoint endpoint;
  private final String index;

  private OpenSearchBulkTransport(OpenSearchEndpoint endpoint, String index) {
    this.client =
        new RestHighLevelClient(
            OpenSearchRestClients.builder(endpoint)
                .setRequestConfigCallback(
                    config ->
                        config
                            .setConnectTimeout((int) CONNECT_TIMEOUT.toMillis())
                            .setConnectionRequestTimeout((int) CONNECT_TIMEOUT.toMillis())
                            .setSocketTimeout((int) SOCKET_TIMEOUT.toMillis())));
    this.endpoint = endpoint;
    this.index = index;
  }

  /**
   * A factory for {@code index} at {@code endpoint}, to open on the task: the factory (in the job
   * graph) holds the password's reference; the password is read when a task opens the transport.
   */
  public static Factory factory(OpenSearchEndpoint endpoint, String index) {
    return () -> new OpenSearchBulkTransport(endpoint, index);
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
    } catch (OpenSearchStatusException | ResponseException e) {
      throw requestFailed(OpenSearchRestClients.status(e), e);
    } catch (IOException e) {
      // A certificate that is not trusted is configuration, not an unreachable cluster.
      Optional<OpenSearchAccessException> untrusted =
          OpenSearchRestClients.explain(endpoint, e, "write index " + index);
      if (untrusted.isPresent()) {
        throw untrusted.get();
      }
      throw e;
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

  /** A whole request refused: a refused login or permission says which settings to check. */
  private RequestFailed requestFailed(int status, Exception e) {
    String message =
        OpenSearchRestClients.explain(endpoint, e, "write index " + index)
            .map(Throwable::getMessage)
            .orElse(e.getMessage());
    return new RequestFailed(status, clip(message));
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
