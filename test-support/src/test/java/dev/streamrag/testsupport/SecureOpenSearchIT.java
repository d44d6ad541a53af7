package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The secured node itself: https with the run's certificate, logins required, the admin may do
 * anything, the limited user only its index pattern; a client that does not trust the certificate
 * gets no answer.
 */
@Timeout(180)
class SecureOpenSearchIT {
  private static OpenSearchServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = OpenSearchServer.startSecure(Path.of("target", "servers", "secure-opensearch-it"));
    http = server.secured().httpClient();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static HttpResponse<String> send(String method, String path, String user)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(server.uri().resolve(path))
            .timeout(Duration.ofSeconds(10))
            .header("content-type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(method.equals("GET") ? "" : "{}"));
    if (user != null) {
      request.header("Authorization", server.secured().basicAuthorization(user));
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theAdminDoesAnythingAndTheLimitedUserOnlyItsIndexes() throws Exception {
    assertThat(server.uri().getScheme()).isEqualTo("https");
    assertThat(send("PUT", "/other-index", OpenSearchServer.ADMIN).statusCode()).isEqualTo(200);
    assertThat(send("PUT", "/limited-one", OpenSearchServer.LIMITED).statusCode()).isEqualTo(200);
    HttpResponse<String> refused = send("GET", "/other-index/_search", OpenSearchServer.LIMITED);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
    assertThat(refused.body()).contains("security_exception");
  }

  @Test
  void noLoginOrAWrongPasswordIsRefused() throws Exception {
    assertThat(send("GET", "/_cluster/health", null).statusCode()).isEqualTo(401);
    HttpResponse<String> wrong =
        http.send(
            HttpRequest.newBuilder(server.uri().resolve("/_cluster/health"))
                .header(
                    "Authorization",
                    "Basic "
                        + java.util.Base64.getEncoder()
                            .encodeToString("admin:not-the-password".getBytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(wrong.statusCode()).isEqualTo(401);
  }

  @Test
  void aClientThatDoesNotTrustTheCertificateGetsNoAnswer() {
    HttpClient untrusting = HttpClient.newHttpClient();
    assertThatThrownBy(
            () ->
                untrusting.send(
                    HttpRequest.newBuilder(server.uri().resolve("/")).build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(SSLHandshakeException.class);
    URI plain = URI.create("http://127.0.0.1:" + server.uri().getPort() + "/");
    assertThatThrownBy(
            () ->
                untrusting.send(
                    HttpRequest.newBuilder(plain).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
  }
}
