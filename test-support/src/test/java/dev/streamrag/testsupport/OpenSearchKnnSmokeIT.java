package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hc.core5.http.HttpHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchClient;
import org.opensearch.client.opensearch._types.query_dsl.Query;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.SearchResponse;
import org.opensearch.client.opensearch.core.search.Hit;
import org.opensearch.client.transport.OpenSearchTransport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;

/** 1,000 vectors in a real k-NN index (HNSW, cosine, lucene engine); the right neighbour wins. */
@Timeout(180)
class OpenSearchKnnSmokeIT {
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  private static final int DIMENSIONS = 16;
  private static final int COUNT = 1_000;
  private static OpenSearchTransport transport;
  private static OpenSearchClient client;

  @BeforeAll
  static void connect() {
    transport =
        ApacheHttpClient5TransportBuilder.builder(HttpHost.create(OPENSEARCH.uri()))
            .setMapper(new JacksonJsonpMapper())
            .build();
    client = new OpenSearchClient(transport);
  }

  @AfterAll
  static void disconnect() throws Exception {
    transport.close();
  }

  @Test
  void nearestNeighbourOfAPerturbedVectorIsItsOrigin() throws Exception {
    String index = "smoke-knn";
    client.indices().delete(d -> d.index(index).ignoreUnavailable(true));
    client
        .indices()
        .create(
            c ->
                c.index(index)
                    .settings(s -> s.knn(true).numberOfShards("1").numberOfReplicas("0"))
                    .mappings(
                        m ->
                            m.properties("tenantId", p -> p.keyword(k -> k))
                                .properties(
                                    "embedding",
                                    p ->
                                        p.knnVector(
                                            k ->
                                                k.dimension(DIMENSIONS)
                                                    .method(
                                                        method ->
                                                            method
                                                                .name("hnsw")
                                                                .engine("lucene")
                                                                .spaceType("cosinesimil"))))));

    Random random = new Random(42);
    List<float[]> vectors = new ArrayList<>();
    BulkRequest.Builder bulk = new BulkRequest.Builder().index(index);
    for (int i = 0; i < COUNT; i++) {
      float[] vector = new float[DIMENSIONS];
      for (int d = 0; d < DIMENSIONS; d++) {
        vector[d] = (float) random.nextGaussian();
      }
      vectors.add(vector);
      String id = String.valueOf(i);
      Map<String, Object> doc =
          Map.of("tenantId", i % 2 == 0 ? "even" : "odd", "embedding", vector);
      bulk.operations(op -> op.index(ix -> ix.id(id).document(doc)));
    }
    BulkResponse indexed = client.bulk(bulk.build());
    assertThat(indexed.errors()).as("bulk errors: %s", indexed.items()).isFalse();
    client.indices().refresh(r -> r.index(index));

    int target = 123;
    float[] query = vectors.get(target).clone();
    for (int d = 0; d < DIMENSIONS; d++) {
      query[d] += (float) (random.nextGaussian() * 0.01);
    }
    SearchResponse<Map> result =
        client.search(
            s ->
                s.index(index)
                    .size(5)
                    .query(q -> q.knn(k -> k.field("embedding").vector(query).k(5))),
            Map.class);

    List<Hit<Map>> hits = result.hits().hits();
    assertThat(hits).isNotEmpty();
    assertThat(hits.get(0).id()).isEqualTo(String.valueOf(target));
    assertThat(hits.get(0).score()).isGreaterThan(0.99);

    // With a tenant filter the target (an odd id) is excluded for tenant "even".
    Query evenTenant =
        Query.of(f -> f.term(t -> t.field("tenantId").value(v -> v.stringValue("even"))));
    SearchResponse<Map> filtered =
        client.search(
            s ->
                s.index(index)
                    .size(5)
                    .query(
                        q ->
                            q.knn(k -> k.field("embedding").vector(query).k(5).filter(evenTenant))),
            Map.class);
    assertThat(filtered.hits().hits()).isNotEmpty();
    assertThat(filtered.hits().hits())
        .allSatisfy(hit -> assertThat(Integer.parseInt(hit.id()) % 2).isZero());
  }
}
