package dev.streamrag.jobs.retrieve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.testsupport.OpenSearchServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The retriever against a real OpenSearch with its security plugin: over https with basic auth, the
 * password read from a mounted-Secret-like directory and the node's CA from opensearch.ca-file. A
 * wrong password, an untrusted certificate and an index the user may not read each fail the search
 * with a reason that says so and holds no password.
 */
@Timeout(180)
class SecureKnnRetrieverIT {
  private static final Path DIR = Path.of("target", "servers", "secure-retriever-it");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String READABLE = "limited-chunks";
  private static final String FORBIDDEN = "admin-chunks";
  private static final float[] QUERY = {1, 0, 0, 0};

  private static OpenSearchServer server;
  private static Path secrets;

  @BeforeAll
  static void start() throws Exception {
    server = OpenSearchServer.startSecure(DIR);
    OpenSearchServer.Secured secured = server.secured();
    secrets = Files.createDirectories(DIR.toAbsolutePath().resolve("secrets"));
    Files.writeString(secrets.resolve("limited"), secured.password(OpenSearchServer.LIMITED));
    Files.writeString(secrets.resolve("wrong"), "not-the-password");
    HttpClient http = secured.httpClient();
    for (String index : List.of(READABLE, FORBIDDEN)) {
      send(http, "PUT", "/" + index, ChunkIndex.definition(4, 1, 0).toString());
      for (int i = 0; i < 3; i++) {
        ObjectNode source = JSON.createObjectNode();
        source.putArray(ChunkIndex.VECTOR).add(1).add(i).add(0).add(0);
        source.put(ChunkIndex.TENANT, "acme");
        source.put(ChunkIndex.DOC_ID, "doc-" + i);
        source.put(ChunkIndex.CHUNK_INDEX, 0);
        source.put(ChunkIndex.TEXT, "passage " + i + " of " + index);
        send(http, "PUT", "/" + index + "/_doc/acme:doc-" + i + ":0", source.toString());
      }
      send(http, "POST", "/" + index + "/_refresh", "");
    }
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static void send(HttpClient http, String method, String path, String body)
      throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(server.uri().resolve(path))
                .header("content-type", "application/json")
                .header(
                    "Authorization", server.secured().basicAuthorization(OpenSearchServer.ADMIN))
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isBetween(200, 299);
  }

  /** The endpoint as the job builds it from its settings. */
  private static OpenSearchEndpoint endpoint(String passwordFile, boolean trust) {
    Configuration config = new Configuration();
    config.setString("opensearch.url", server.uri().toString());
    config.setString("opensearch.username", OpenSearchServer.LIMITED);
    config.setString("opensearch.password", "${dir:" + secrets + ":" + passwordFile + "}");
    if (trust) {
      config.setString("opensearch.ca-file", server.secured().caCertificate().toString());
    }
    return OpenSearchEndpoint.from(config);
  }

  private static KnnRetriever retriever(OpenSearchEndpoint endpoint, String index) {
    return KnnRetriever.builder()
        .endpoint(endpoint)
        .index(index)
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  /** Why a search failed. */
  private static OpenSearchAccessException failure(KnnRetriever retriever) {
    Throwable failed = catchThrowable(() -> retriever.topK("acme", QUERY, 2).get());
    assertThat(failed).isInstanceOf(ExecutionException.class);
    assertThat(failed.getCause()).isInstanceOf(OpenSearchAccessException.class);
    String text = ExceptionUtils.stringifyException(failed);
    for (String user : List.of(OpenSearchServer.ADMIN, OpenSearchServer.LIMITED)) {
      assertThat(text).doesNotContain(server.secured().password(user));
    }
    assertThat(text).doesNotContain("not-the-password");
    return (OpenSearchAccessException) failed.getCause();
  }

  @Test
  void theUserWithItsPasswordAndTheCaSearchesOverHttps() throws Exception {
    OpenSearchEndpoint endpoint = endpoint("limited", true);
    assertThat(endpoint.https()).isTrue();
    try (KnnRetriever retriever = retriever(endpoint, READABLE)) {
      List<RetrievedChunk> chunks = retriever.topK("acme", QUERY, 2).get();
      assertThat(chunks).extracting(RetrievedChunk::docId).containsExactly("doc-0", "doc-1");
      assertThat(retriever.warmUp(null).get()).isTrue();
    }
  }

  @Test
  void aWrongPasswordIsRefusedAsUnauthorized() {
    try (KnnRetriever retriever = retriever(endpoint("wrong", true), READABLE)) {
      OpenSearchAccessException refused = failure(retriever);
      assertThat(refused.status()).isEqualTo(401);
      assertThat(refused)
          .hasMessageContaining("refused the login of user limited (401 Unauthorized)")
          .hasMessageContaining("opensearch.password ${dir:" + secrets + ":wrong}");
    }
  }

  @Test
  void withoutTheCaTheServerIsNotTrusted() {
    try (KnnRetriever retriever = retriever(endpoint("limited", false), READABLE)) {
      OpenSearchAccessException untrusted = failure(retriever);
      assertThat(untrusted.status()).isEqualTo(OpenSearchAccessException.TLS);
      assertThat(untrusted)
          .hasMessageContaining("PKIX path building failed")
          .hasMessageContaining("opensearch.ca-file is empty");
    }
  }

  @Test
  void anIndexTheUserMayNotReadIsAnAuthorizationError() throws Exception {
    try (KnnRetriever retriever = retriever(endpoint("limited", true), FORBIDDEN)) {
      OpenSearchAccessException forbidden = failure(retriever);
      assertThat(forbidden.status()).isEqualTo(403);
      assertThat(forbidden)
          .hasMessageContaining("user limited may not search index " + FORBIDDEN)
          .hasMessageContaining("no permissions for [indices:data/read/search]");
      // The same retriever searches the index its user may read (a per-request index).
      assertThat(retriever.search(READABLE, "acme", QUERY, null, 1).get()).hasSize(1);
    }
  }

  @Test
  void aLiteralPasswordOrALoginInTheUrlIsRefusedAtConfiguration() {
    Configuration literal = new Configuration();
    literal.setString("opensearch.url", server.uri().toString());
    literal.setString("opensearch.username", OpenSearchServer.LIMITED);
    literal.setString("opensearch.password", server.secured().password(OpenSearchServer.LIMITED));
    assertThatThrownBy(() -> OpenSearchEndpoint.from(literal))
        .hasMessageContaining("opensearch.password must be a secret reference")
        .message()
        .doesNotContain(server.secured().password(OpenSearchServer.LIMITED));

    Configuration inUrl = new Configuration();
    inUrl.setString(
        "opensearch.url",
        "https://limited:"
            + server.secured().password(OpenSearchServer.LIMITED)
            + "@127.0.0.1:"
            + server.uri().getPort());
    assertThatThrownBy(() -> OpenSearchEndpoint.from(inUrl))
        .hasMessageContaining("must not carry a user or password")
        .message()
        .doesNotContain(server.secured().password(OpenSearchServer.LIMITED));
  }
}
