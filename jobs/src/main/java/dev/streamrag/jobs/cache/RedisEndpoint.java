package dev.streamrag.jobs.cache;

import dev.streamrag.security.SecretReference;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import java.io.File;
import java.io.Serializable;
import java.net.URI;
import java.util.Objects;

/**
 * Where Redis is and how to log in: {@code redis://} or {@code rediss://} (TLS), an ACL user
 * (empty: the default user), a password given as a {@link SecretReference} and read only when a
 * client opens, and a CA certificate to trust for TLS. Serializable and free of secrets, so
 * operators carry it in the job graph.
 *
 * @param url {@code redis://host:port[/db]} or {@code rediss://...}; must not carry a password
 * @param username the ACL user, or null for Redis's default user
 * @param password where the password is, or null when Redis needs none
 * @param caFile a PEM CA certificate that rediss:// trusts, or null for the JVM's default trust
 */
public record RedisEndpoint(String url, String username, SecretReference password, String caFile)
    implements Serializable {

  public RedisEndpoint {
    Objects.requireNonNull(url, "Redis url is required but not provided.");
    // Never echoed in these messages: a URL may carry a password.
    URI parsed;
    try {
      parsed = new URI(url);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("the Redis url is not a URL (redis://host:port)");
    }
    if (parsed.getScheme() == null
        || !(parsed.getScheme().equals("redis") || parsed.getScheme().equals("rediss"))) {
      throw new IllegalArgumentException(
          "the Redis url must be redis://host:port or rediss://host:port");
    }
    if (parsed.getRawUserInfo() != null || url.contains("@")) {
      // Not echoed: the user info may hold the password.
      throw new IllegalArgumentException(
          "the Redis url must not carry a user or password: set redis.username, and"
              + " redis.password as a secret reference");
    }
    username = username == null || username.isBlank() ? null : username;
    caFile = caFile == null || caFile.isBlank() ? null : caFile;
  }

  /** No login, the JVM's trust. */
  public static RedisEndpoint of(String url) {
    return new RedisEndpoint(url, null, null, null);
  }

  /** True if the connection is TLS. */
  public boolean tls() {
    return url.startsWith("rediss:");
  }

  /** Lettuce's URI, with the password read now (call where the client opens). */
  public RedisURI toRedisUri() {
    RedisURI uri = RedisURI.create(url);
    if (password != null) {
      // A static credentials provider, as setPassword would make, from the secret read now.
      uri.setCredentialsProvider(
          io.lettuce.core.RedisCredentialsProvider.from(
              () -> io.lettuce.core.RedisCredentials.just(username, password.resolve())));
    }
    return uri;
  }

  /** TLS options trusting {@link #caFile}, or null for Lettuce's defaults. */
  public SslOptions sslOptions() {
    return caFile == null ? null : SslOptions.builder().trustManager(new File(caFile)).build();
  }

  @Override
  public String toString() {
    return url
        + (username == null ? "" : " as " + username)
        + (password == null ? "" : " password " + password)
        + (caFile == null ? "" : " trusting " + caFile);
  }
}
