package dev.streamrag.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.opensearch.client.Request;
import org.opensearch.client.RestClient;

/**
 * The k-NN query tests and benchmarks check the index with: top-k chunks for a vector, filtered to
 * one tenant. (The inference job's retriever will be its own, asynchronous client.)
 */
public final class KnnSearch {
  private static final ObjectMapper JSON = new ObjectMapper();

  private KnnSearch() {}

  /**
   * The document ids of the best {@code keep} of {@code candidates} nearest chunks in {@code
   * tenant}, best first.
   */
  public static List<String> topDocIds(
      RestClient client, String index, float[] vector, String tenant, int candidates, int keep)
      throws IOException {
    ObjectNode body = JSON.createObjectNode().put("size", keep);
    ObjectNode knn = body.putObject("query").putObject("knn").putObject(ChunkIndex.VECTOR);
    ArrayNode array = knn.putArray("vector");
    for (float v : vector) {
      array.add(v);
    }
    knn.put("k", candidates);
    knn.putObject("filter").putObject("term").put(ChunkIndex.TENANT, tenant);
    Request request = new Request("POST", "/" + index + "/_search");
    request.setJsonEntity(body.toString());
    List<String> docs = new ArrayList<>();
    for (JsonNode hit :
        JSON.readTree(client.performRequest(request).getEntity().getContent()).at("/hits/hits")) {
      if (!hit.at("/_source/" + ChunkIndex.TENANT).asText().equals(tenant)) {
        throw new IllegalStateException("tenant filter leaked a chunk of another tenant: " + hit);
      }
      docs.add(hit.at("/_source/" + ChunkIndex.DOC_ID).asText());
    }
    return docs;
  }
}
