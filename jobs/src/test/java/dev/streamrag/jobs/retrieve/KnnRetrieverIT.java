package dev.streamrag.jobs.retrieve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.embed.SentenceEmbedder;
import dev.streamrag.schemas.Document;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The asynchronous k-NN retriever against a real OpenSearch with demo-corpus chunks. */
@Timeout(120)
class KnnRetrieverIT {
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DemoCorpus CORPUS = DemoCorpus.generate(5, 40, List.of("acme", "globex"));
  private static final String INDEX = "retrieve-" + UUID.randomUUID().toString().substring(0, 8);
  private static SentenceEmbedder embedder;
  private static KnnRetriever retriever;

  @BeforeAll
  static void indexCorpus() throws Exception {
    embedder = SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu());
    HttpClient http = HttpClient.newHttpClient();
    URI base = OPENSEARCH.uri();
    send(http, "PUT", base.resolve("/" + INDEX), ChunkIndex.definition(384, 1, 0).toString());
    for (Document doc : CORPUS.documents()) {
      ObjectNode source = JSON.createObjectNode();
      float[] vector =
          embedder.embed(doc.getTitle() + "\n" + doc.getText(), EmbeddingPurpose.PASSAGE);
      var array = source.putArray(ChunkIndex.VECTOR);
      for (float v : vector) {
        array.add(v);
      }
      source.put(ChunkIndex.TENANT, doc.getTenantId().toString());
      source.put(ChunkIndex.DOC_ID, doc.getDocId().toString());
      source.put(ChunkIndex.CHUNK_INDEX, 0);
      source.put(ChunkIndex.TITLE, doc.getTitle().toString());
      source.put(ChunkIndex.TEXT, doc.getText().toString());
      String id = doc.getTenantId() + ":" + doc.getDocId() + ":0";
      send(http, "PUT", base.resolve("/" + INDEX + "/_doc/" + id), source.toString());
    }
    send(http, "POST", base.resolve("/" + INDEX + "/_refresh"), "");
    retriever = KnnRetriever.builder().url(base).index(INDEX).build();
  }

  @AfterAll
  static void close() {
    retriever.close();
    embedder.close();
  }

  private static void send(HttpClient http, String method, URI uri, String body) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(uri)
                .header("content-type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isBetween(200, 299);
  }

  @Test
  void theIndexCanBeWarmedUpAndAMissingOneIsReportedNotThrown() throws Exception {
    assertThat(retriever.warmUp(null).get()).isTrue();
    assertThat(retriever.warmUp("no-such-index").get()).isFalse();
  }

  @Test
  void findsTheAnsweringChunkWithinTheTenantBestFirst() throws Exception {
    for (QaPair qa : CORPUS.questions().subList(0, 12)) {
      float[] vector = embedder.embed(qa.question(), EmbeddingPurpose.QUERY);
      List<RetrievedChunk> chunks = retriever.topK(qa.tenantId(), vector, 3).get();
      assertThat(chunks).hasSize(3);
      assertThat(chunks).allSatisfy(c -> assertThat(c.tenantId()).isEqualTo(qa.tenantId()));
      assertThat(chunks.get(0).docId()).as(qa.question()).isEqualTo(qa.docId());
      assertThat(chunks.get(0).text()).contains(qa.answer());
      assertThat(chunks.get(0).chunkId()).isEqualTo(qa.tenantId() + ":" + qa.docId() + ":0");
      assertThat(chunks.get(0).score()).isGreaterThanOrEqualTo(chunks.get(1).score());
      // Another tenant never sees this document.
      String other = qa.tenantId().equals("acme") ? "globex" : "acme";
      assertThat(retriever.topK(other, vector, 5).get())
          .extracting(RetrievedChunk::docId)
          .doesNotContain(qa.docId());
    }
  }

  @Test
  void aServerThatNeverAnswersTimesOutInsteadOfHanging() throws Exception {
    // A real socket that accepts connections (the kernel does) but never responds.
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        KnnRetriever slow =
            KnnRetriever.builder()
                .url(URI.create("http://127.0.0.1:" + silent.getLocalPort()))
                .index(INDEX)
                .timeout(Duration.ofMillis(300))
                .build()) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> slow.topK("acme", new float[384], 5).get())
          .isInstanceOf(ExecutionException.class)
          .satisfies(
              e ->
                  assertThat(e.getCause())
                      .isInstanceOfAny(
                          TimeoutException.class, java.net.SocketTimeoutException.class));
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    }
  }

  @Test
  void settingsAreChecked() {
    assertThatThrownBy(() -> KnnRetriever.builder().index("x").build())
        .hasMessageContaining("url is required");
    assertThatThrownBy(
            () ->
                KnnRetriever.builder()
                    .url(URI.create("http://127.0.0.1:1"))
                    .index("x")
                    .candidates(0)
                    .build())
        .hasMessageContaining("candidates must be at least 1");
  }
}
