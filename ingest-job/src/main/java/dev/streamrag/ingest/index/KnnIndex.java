package dev.streamrag.ingest.index;

import dev.streamrag.jobs.retrieve.ChunkIndex;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import org.apache.http.HttpHost;
import org.opensearch.client.Request;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestClient;

/**
 * Creates the chunk index ({@link ChunkIndex#definition}) when the ingest job starts, if it does
 * not exist. Uses OpenSearch's low-level REST client, already on the classpath with the connector:
 * the definition is a JSON document, which the typed client would only make longer.
 */
public final class KnnIndex {
  private KnnIndex() {}

  /**
   * Creates {@code index} unless it exists. Returns true if it was created. Another job creating it
   * at the same moment is not an error.
   */
  public static boolean createIfMissing(
      URI opensearch, String index, int dimension, int shards, int replicas) {
    try (RestClient client =
        RestClient.builder(
                new HttpHost(opensearch.getHost(), opensearch.getPort(), opensearch.getScheme()))
            .build()) {
      int status =
          client.performRequest(new Request("HEAD", "/" + index)).getStatusLine().getStatusCode();
      if (status == 200) {
        return false;
      }
      Request create = new Request("PUT", "/" + index);
      create.setJsonEntity(ChunkIndex.definition(dimension, shards, replicas).toString());
      try {
        client.performRequest(create);
        return true;
      } catch (ResponseException e) {
        if (e.getMessage().contains("resource_already_exists_exception")) {
          return false;
        }
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create OpenSearch index " + index + " at " + opensearch + ": " + e.getMessage(),
          e);
    }
  }

  /**
   * Makes everything indexed so far searchable now rather than at the next refresh interval: for a
   * bounded ingest that queries follow at once (the local stack, tests).
   */
  public static void refresh(URI opensearch, String index) {
    try (RestClient client =
        RestClient.builder(
                new HttpHost(opensearch.getHost(), opensearch.getPort(), opensearch.getScheme()))
            .build()) {
      client.performRequest(new Request("POST", "/" + index + "/_refresh"));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot refresh OpenSearch index " + index + " at " + opensearch + ": " + e.getMessage(),
          e);
    }
  }
}
