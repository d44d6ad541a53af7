package dev.streamrag.jobs.retrieve;

import dev.streamrag.jobs.config.CommonOptions;
import dev.streamrag.security.SecretReference;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.Collection;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.http.nio.ssl.TlsStrategy;

/**
 * Where OpenSearch is and how to log in: {@code http://} or {@code https://}, a user of the
 * security plugin (basic auth), its password given as a {@link SecretReference} and read only when
 * a client opens, and a PEM CA certificate to trust for https. Serializable and free of secrets, so
 * operators carry it in the job graph; {@link #toString()} shows the reference, never the password.
 *
 * <p>One place builds what both OpenSearch client libraries need: {@link #sslContext()} (the JDK's
 * TLS context, for the low-level REST client and for {@link #tlsStrategy()}, httpclient5's) and
 * {@link #basicAuthorization()} (the {@code Authorization} header both send on every request, so no
 * request waits for a 401 challenge first).
 *
 * @param url {@code http://host:port} or {@code https://host:port}; must not carry a user or
 *     password
 * @param username the user, or null for a cluster without logins
 * @param password where the user's password is, or null for a cluster without logins
 * @param caFile a PEM file of the CA certificate(s) https trusts, or null for the JVM's default
 *     trust; read where a client opens (a TaskManager's mounted Secret)
 */
public record OpenSearchEndpoint(
    String url, String username, SecretReference password, String caFile) implements Serializable {

  public OpenSearchEndpoint {
    Objects.requireNonNull(url, "OpenSearch url is required but not provided.");
    URI parsed;
    try {
      parsed = URI.create(url);
    } catch (IllegalArgumentException e) {
      // Not echoed whole: a malformed URL may still hold a password.
      throw new IllegalArgumentException(
          "opensearch.url is not a URL (" + e.getClass().getSimpleName() + ")");
    }
    if (parsed.getRawUserInfo() != null) {
      // Not echoed: the user info may hold the password.
      throw new IllegalArgumentException(
          "opensearch.url must not carry a user or password: set opensearch.username, and"
              + " opensearch.password as a secret reference");
    }
    String scheme = parsed.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new IllegalArgumentException("opensearch.url must be http:// or https://, got " + url);
    }
    if (parsed.getHost() == null) {
      throw new IllegalArgumentException("opensearch.url has no host: " + url);
    }
    username = username == null || username.isBlank() ? null : username;
    caFile = caFile == null || caFile.isBlank() ? null : caFile;
    if ((username == null) != (password == null)) {
      throw new IllegalArgumentException(
          "opensearch.username and opensearch.password are set together or not at all (got "
              + (username == null ? "a password without a user" : "a user without a password")
              + ")");
    }
    if (caFile != null && scheme.equals("http")) {
      throw new IllegalArgumentException(
          "opensearch.ca-file is set but opensearch.url is http://, which would not use it: use"
              + " https://");
    }
    if (password != null && scheme.equals("http") && !loopback(parsed.getHost())) {
      throw new IllegalArgumentException(
          "opensearch.url is http:// to "
              + parsed.getHost()
              + ", which would send opensearch.password in clear text: use https://");
    }
  }

  /** No login, the JVM's trust. */
  public static OpenSearchEndpoint of(String url) {
    return new OpenSearchEndpoint(url, null, null, null);
  }

  /** No login, the JVM's trust. */
  public static OpenSearchEndpoint of(URI url) {
    return of(
        Objects.requireNonNull(url, "OpenSearch url is required but not provided.").toString());
  }

  /**
   * The endpoint the settings {@code opensearch.url}, {@code opensearch.username}, {@code
   * opensearch.password} (a secret reference; a literal password is refused) and {@code
   * opensearch.ca-file} describe. Reads no secret and no file.
   */
  public static OpenSearchEndpoint from(Configuration config) {
    return new OpenSearchEndpoint(
        config.get(CommonOptions.OPENSEARCH_URL),
        config.get(CommonOptions.OPENSEARCH_USERNAME),
        SecretReference.ofSetting(
                CommonOptions.OPENSEARCH_PASSWORD.key(),
                config.get(CommonOptions.OPENSEARCH_PASSWORD))
            .orElse(null),
        config.get(CommonOptions.OPENSEARCH_CA_FILE));
  }

  public URI uri() {
    return URI.create(url);
  }

  /** True if the connection is TLS. */
  public boolean https() {
    return url.startsWith("https:");
  }

  /**
   * The TLS context for https: trusting {@link #caFile} only, or the JVM's default trust.
   *
   * @throws IllegalStateException naming the file if the CA cannot be read
   */
  public SSLContext sslContext() {
    try {
      if (caFile == null) {
        return SSLContext.getDefault();
      }
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      Collection<? extends Certificate> certificates;
      try (InputStream in = Files.newInputStream(Path.of(caFile))) {
        certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      if (certificates.isEmpty()) {
        throw new IllegalStateException(
            "opensearch.ca-file " + caFile + " holds no PEM certificate");
      }
      int n = 0;
      for (Certificate certificate : certificates) {
        trust.setCertificateEntry("ca-" + n++, certificate);
      }
      TrustManagerFactory trustManagers =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trustManagers.getTrustManagers(), null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(
          "cannot use opensearch.ca-file " + caFile + " as the CA to trust: " + e, e);
    }
  }

  /** httpclient5's TLS for https (see {@link #sslContext()}), or null for http. */
  public TlsStrategy tlsStrategy() {
    return https() ? ClientTlsStrategyBuilder.create().setSslContext(sslContext()).build() : null;
  }

  /**
   * The {@code Authorization} header value for basic auth, with the password read now: call where
   * the client opens (an operator's {@code open()}), never where the job graph is built. Empty when
   * no user is set.
   *
   * @throws IllegalStateException naming the reference (never a value) if it cannot be read
   */
  public Optional<String> basicAuthorization() {
    if (username == null) {
      return Optional.empty();
    }
    String secret = password.resolve();
    return Optional.of(
        "Basic "
            + Base64.getEncoder()
                .encodeToString((username + ":" + secret).getBytes(StandardCharsets.UTF_8)));
  }

  /** Literal loopback names only: nothing is resolved where the job is configured. */
  private static boolean loopback(String host) {
    return host.equals("localhost")
        || host.equals("[::1]")
        || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  @Override
  public String toString() {
    return url
        + (username == null ? "" : " as " + username + " password " + password)
        + (caFile == null ? "" : " trusting " + caFile);
  }
}
