package dev.streamrag.ingest.index;

import dev.streamrag.jobs.retrieve.OpenSearchAccessException;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import java.net.URI;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.apache.http.Header;
import org.apache.http.HttpHeaders;
import org.apache.http.HttpHost;
import org.apache.http.message.BasicHeader;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.client.ResponseException;
import org.opensearch.client.RestClient;
import org.opensearch.client.RestClientBuilder;

/**
 * OpenSearch's low-level REST client (Apache httpclient 4, under the index writer and index
 * creation) for an {@link OpenSearchEndpoint}: the endpoint's TLS context and its basic-auth header
 * on every request, the password read now. Build clients where they are used (a task's {@code
 * open()}, the job's start), never where the job graph is built.
 */
final class OpenSearchRestClients {
  private OpenSearchRestClients() {}

  /** A builder for {@code endpoint}, with its login and trust. */
  static RestClientBuilder builder(OpenSearchEndpoint endpoint) {
    URI url = endpoint.uri();
    RestClientBuilder builder =
        RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme()));
    endpoint
        .basicAuthorization()
        .ifPresent(
            value ->
                builder.setDefaultHeaders(
                    new Header[] {new BasicHeader(HttpHeaders.AUTHORIZATION, value)}));
    if (endpoint.https()) {
      SSLContext tls = endpoint.sslContext();
      builder.setHttpClientConfigCallback(http -> http.setSSLContext(tls));
    }
    return builder;
  }

  /**
   * A refused login or permission (401, 403) or a TLS failure in {@code error}'s causes, said in
   * terms of the settings; empty for any other failure.
   *
   * @param action what was refused, e.g. "create index rag-chunks"
   */
  static Optional<OpenSearchAccessException> explain(
      OpenSearchEndpoint endpoint, Throwable error, String action) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      int status = status(t);
      if (status == 401 || status == 403) {
        return Optional.of(OpenSearchAccessException.refused(endpoint, status, action, message(t)));
      }
      if (t instanceof SSLException tls) {
        return Optional.of(OpenSearchAccessException.untrusted(endpoint, tls));
      }
    }
    return Optional.empty();
  }

  /** The HTTP status a client exception carries, or 0. */
  static int status(Throwable t) {
    if (t instanceof ResponseException response) {
      return response.getResponse().getStatusLine().getStatusCode();
    }
    if (t instanceof OpenSearchStatusException status) {
      return status.status().getStatus();
    }
    return 0;
  }

  private static String message(Throwable t) {
    // The high-level client says "Unable to parse response body" for a plain-text answer (the
    // security plugin's 401): the low-level exception it keeps says what OpenSearch answered.
    for (Throwable suppressed : t.getSuppressed()) {
      if (suppressed instanceof ResponseException response) {
        return response.getMessage();
      }
    }
    return t.getMessage();
  }
}
