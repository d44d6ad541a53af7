package dev.streamrag.ingest.index;

import dev.streamrag.jobs.retrieve.ChunkIndex;
import dev.streamrag.jobs.retrieve.OpenSearchAccessException;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import org.opensearch.client.Request;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestClient;

/**
 * Creates the chunk index ({@link ChunkIndex#definition}) when the ingest job starts, if it does
 * not exist. Uses OpenSearch's low-level REST client, already on the classpath with the connector:
 * the definition is a JSON document, which the typed client would only make longer. Runs where the
 * job starts (the JobManager), which therefore needs the endpoint's password and CA too.
 */
public final class KnnIndex {
  private KnnIndex() {}

  /**
   * Creates {@code index} unless it exists. Returns true if it was created. Another job creating it
   * at the same moment is not an error.
   *
   * @throws OpenSearchAccessException if the login, the permission to create or check the index, or
   *     the TLS trust was refused
   * @throws UncheckedIOException if OpenSearch cannot be reached or refuses otherwise
   */
  public static boolean createIfMissing(
      OpenSearchEndpoint opensearch, String index, int dimension, int shards, int replicas) {
    try (RestClient client = OpenSearchRestClients.builder(opensearch).build()) {
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
      OpenSearchAccessException refused =
          OpenSearchRestClients.explain(opensearch, e, "check or create index " + index)
              .orElse(null);
      if (refused != null) {
        throw refused;
      }
      throw new UncheckedIOException(
          "cannot create OpenSearch index "
              + index
              + " at "
              + opensearch.url()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** {@link #createIfMissing(OpenSearchEndpoint, String, int, int, int)} without login. */
  public static boolean createIfMissing(
      URI opensearch, String index, int dimension, int shards, int replicas) {
    return createIfMissing(OpenSearchEndpoint.of(opensearch), index, dimension, shards, replicas);
  }

  /**
   * Makes everything indexed so far searchable now rather than at the next refresh interval: for a
   * bounded ingest that queries follow at once (the local stack, tests).
   */
  public static void refresh(OpenSearchEndpoint opensearch, String index) {
    try (RestClient client = OpenSearchRestClients.builder(opensearch).build()) {
      client.performRequest(new Request("POST", "/" + index + "/_refresh"));
    } catch (IOException e) {
      OpenSearchAccessException refused =
          OpenSearchRestClients.explain(opensearch, e, "refresh index " + index).orElse(null);
      if (refused != null) {
        throw refused;
      }
      throw new UncheckedIOException(
          "cannot refresh OpenSearch index "
              + index
              + " at "
              + opensearch.url()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** {@link #refresh(OpenSearchEndpoint, String)} without login. */
  public static void refresh(URI opensearch, String index) {
    refresh(OpenSearchEndpoint.of(opensearch), index);
  }
}
