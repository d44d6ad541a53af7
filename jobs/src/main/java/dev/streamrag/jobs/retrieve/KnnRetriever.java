package dev.streamrag.jobs.retrieve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpHeaders;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.message.BasicHeader;
import org.apache.hc.core5.http.nio.ssl.TlsStrategy;
import org.apache.hc.core5.util.Timeout;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchAsyncClient;
import org.opensearch.client.opensearch._types.FieldValue;
import org.opensearch.client.opensearch._types.query_dsl.Query;
import org.opensearch.client.opensearch.core.SearchResponse;
import org.opensearch.client.opensearch.core.search.Hit;
import org.opensearch.client.opensearch.generic.OpenSearchGenericClient;
import org.opensearch.client.opensearch.generic.Requests;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5Transport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;
import org.opensearch.client.transport.httpclient5.ResponseException;

/**
 * Top-k chunks for a query vector from the chunk index, within one tenant, without blocking: the
 * search runs on the HTTP client's I/O threads and completes a future, which Flink's Async I/O
 * operator waits on. Every search has a deadline; a late or failed one completes exceptionally, a
 * refused login or permission and an untrusted certificate with an {@link
 * OpenSearchAccessException}. Logs in and trusts as its {@link OpenSearchEndpoint} says; the
 * password is read when the retriever is built (in an operator's {@code open()}).
 *
 * <p>k-NN asks for {@code candidates} neighbours and keeps the best k. With a tenant filter,
 * Lucene's HNSW search misses neighbours when asked for few: on the demo corpus at 10,000
 * documents, k = 5 found the right document for 92% of questions, 50 candidates for 98.9%
 * (docs/benchmarks/ingest.md).
 */
public final class KnnRetriever implements AutoCloseable {
  private final OpenSearchAsyncClient client;
  private final ApacheHttpClient5Transport transport;
  private final OpenSearchEndpoint endpoint;
  private final String index;
  private final int candidates;
  private final Duration timeout;

  private KnnRetriever(Builder builder) {
    this.index = builder.index;
    this.candidates = builder.candidates;
    this.timeout = builder.timeout;
    this.endpoint = builder.endpoint;
    URI url = endpoint.uri();
    Timeout responseTimeout = Timeout.of(timeout.toMillis(), TimeUnit.MILLISECONDS);
    // Read here, where the client opens (an operator's open()): the password is never a field.
    Header[] login =
        endpoint
            .basicAuthorization()
            .map(value -> new Header[] {new BasicHeader(HttpHeaders.AUTHORIZATION, value, true)})
            .orElse(new Header[0]);
    TlsStrategy tls = endpoint.tlsStrategy();
    this.transport =
        ApacheHttpClient5TransportBuilder.builder(
                new HttpHost(url.getScheme(), url.getHost(), url.getPort()))
            .setMapper(new JacksonJsonpMapper())
            .setDefaultHeaders(login)
            .setHttpClientConfigCallback(
                http ->
                    http.setConnectionManager(
                        PoolingAsyncClientConnectionManagerBuilder.create()
                            .setMaxConnPerRoute(builder.maxConnections)
                            .setMaxConnTotal(builder.maxConnections)
                            .setTlsStrategy(tls)
                            .build()))
            .setRequestConfigCallback(
                config ->
                    config
                        .setResponseTimeout(responseTimeout)
                        .setConnectionRequestTimeout(responseTimeout))
            .build();
    this.client = new OpenSearchAsyncClient(transport);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a retriever; {@link #build()} checks every setting. */
  public static final class Builder {
    private OpenSearchEndpoint endpoint;
    private String index;
    private int candidates = 50;
    private Duration timeout = Duration.ofSeconds(2);
    private int maxConnections = 64;

    /** Most searches in flight at once; more wait for a connection (default 64). */
    public Builder maxConnections(int maxConnections) {
      this.maxConnections = maxConnections;
      return this;
    }

    /** A cluster without logins, trusted by the JVM's default trust (a plain URL). */
    public Builder url(URI url) {
      this.endpoint = url == null ? null : OpenSearchEndpoint.of(url);
      return this;
    }

    /**
     * Where OpenSearch is and how to log in and trust it; its password is read when {@link
     * #build()} opens the client.
     */
    public Builder endpoint(OpenSearchEndpoint endpoint) {
      this.endpoint = endpoint;
      return this;
    }

    public Builder index(String index) {
      this.index = index;
      return this;
    }

    /** Neighbours k-NN looks for before the best k are kept (default 50). */
    public Builder candidates(int candidates) {
      this.candidates = candidates;
      return this;
    }

    /** Deadline of one search (default 2 s). */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public KnnRetriever build() {
      Objects.requireNonNull(endpoint, "OpenSearch url is required but not provided.");
      Objects.requireNonNull(index, "index is required but not provided.");
      Objects.requireNonNull(timeout, "timeout is required but not provided.");
      if (maxConnections < 1) {
        throw new IllegalArgumentException(
            "maxConnections must be at least 1, got " + maxConnections);
      }
      if (candidates < 1) {
        throw new IllegalArgumentException("candidates must be at least 1, got " + candidates);
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive, got " + timeout);
      }
      return new KnnRetriever(this);
    }
  }

  /** The best {@code k} chunks of {@code tenant} for {@code vector}, best first. */
  public CompletableFuture<List<RetrievedChunk>> topK(String tenant, float[] vector, int k) {
    return search(index, tenant, vector, null, k);
  }

  /**
   * The best {@code k} chunks of {@code tenant} in {@code index} (null: the default index).
   *
   * @param keywords when not null, a hybrid search: the chunk's BM25 score for these words on its
   *     text is added to its vector similarity (a plain sum, so that an exact name in the question
   *     can lift a passage the embedding ranks low)
   */
  public CompletableFuture<List<RetrievedChunk>> search(
      String index, String tenant, float[] vector, String keywords, int k) {
    int asked = Math.max(k, candidates);
    Query tenantFilter =
        Query.of(q -> q.term(t -> t.field(ChunkIndex.TENANT).value(FieldValue.of(tenant))));
    Query knnQuery =
        Query.of(
            q ->
                q.knn(
                    knn ->
                        knn.field(ChunkIndex.VECTOR).vector(vector).k(asked).filter(tenantFilter)));
    Query query =
        keywords == null
            ? knnQuery
            : Query.of(
                q ->
                    q.bool(
                        b ->
                            b.should(knnQuery)
                                .should(
                                    s ->
                                        s.match(
                                            m ->
                                                m.field(ChunkIndex.TEXT)
                                                    .query(FieldValue.of(keywords))))
                                .filter(tenantFilter)
                                .minimumShouldMatch("1")));
    String target = index == null ? this.index : index;
    CompletableFuture<SearchResponse<ObjectNode>> search;
    try {
      search = client.search(s -> s.index(target).size(k).query(query), ObjectNode.class);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
    return search
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (response, error) -> {
              if (error != null) {
                throw new CompletionException(explain(error, "search index " + target));
              }
              return chunks(response);
            });
  }

  /**
   * A refused login or permission, or an untrusted certificate, as an {@link
   * OpenSearchAccessException} that names the settings to check; any other failure as it is (so a
   * timeout stays a timeout).
   */
  private Throwable explain(Throwable error, String action) {
    Throwable failure =
        error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ResponseException response
          && (response.status() == 401 || response.status() == 403)) {
        return OpenSearchAccessException.refused(
            endpoint, response.status(), action, response.getMessage());
      }
      if (t instanceof SSLException tls) {
        return OpenSearchAccessException.untrusted(endpoint, tls);
      }
    }
    return failure;
  }

  /**
   * Asks OpenSearch to load the index's k-NN graphs into memory now (the k-NN plugin's warmup API)
   * instead of on the first searches, which on a cold index take seconds and would time out.
   * Completes with whether OpenSearch accepted; never fails.
   *
   * @param index the index, or null for this retriever's default
   */
  public CompletableFuture<Boolean> warmUp(String index) {
    String target = index == null ? this.index : index;
    try {
      return new OpenSearchGenericClient(transport)
          .executeAsync(
              Requests.builder().method("GET").endpoint("/_plugins/_knn/warmup/" + target).build())
          .handle(
              (response, error) -> {
                if (error != null) {
                  return false;
                }
                try (response) {
                  return response.getStatus() == 200;
                } catch (IOException e) {
                  return false;
                }
              });
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(false);
    }
  }

  private static List<RetrievedChunk> chunks(SearchResponse<ObjectNode> response) {
    List<RetrievedChunk> chunks = new ArrayList<>();
    for (Hit<ObjectNode> hit : response.hits().hits()) {
      ObjectNode source = hit.source();
      chunks.add(
          new RetrievedChunk(
              hit.id(),
              source.path(ChunkIndex.TENANT).asText(),
              source.path(ChunkIndex.DOC_ID).asText(),
              source.path(ChunkIndex.CHUNK_INDEX).asInt(),
              source.path(ChunkIndex.TITLE).asText(null),
              source.path(ChunkIndex.TEXT).asText(),
              hit.score() == null ? 0 : hit.score()));
    }
    return chunks;
  }

  @Override
  public void close() {
    try {
      transport.close();
    } catch (IOException e) {
      throw new UncheckedIOException("closing the OpenSearch client failed", e);
    }
  }
}
