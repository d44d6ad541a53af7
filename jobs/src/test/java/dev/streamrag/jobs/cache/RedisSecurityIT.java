package dev.streamrag.jobs.cache;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.security.SecretReference;
import dev.streamrag.testsupport.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cache against a real redis-server that speaks TLS only and admits one ACL user: with the
 * user, its password (read from a mounted-Secret-like directory) and the server's CA it works;
 * without any one of them every call is UNAVAILABLE with a reason that holds no secret.
 */
@Timeout(120)
class RedisSecurityIT {
  private static final Path DIR = Path.of("target", "servers", "redis-security-it");
  private static RedisServer redis;
  private static Path secrets;

  @BeforeAll
  static void start() throws Exception {
    redis = RedisServer.startSecure(DIR, "streamrag-cache");
    secrets = Files.createDirectories(DIR.toAbsolutePath().resolve("secrets"));
    Files.writeString(secrets.resolve("password"), redis.secured().password() + "\n");
    Files.writeString(secrets.resolve("wrong"), "not-the-password");
  }

  @AfterAll
  static void stop() {
    if (redis != null) {
      redis.close();
    }
  }

  private static RedisEndpoint endpoint(String user, String passwordFile, boolean trust) {
    return new RedisEndpoint(
        redis.uri(),
        user,
        passwordFile == null
            ? null
            : SecretReference.parse("${dir:" + secrets + ":" + passwordFile + "}").orElseThrow(),
        trust ? redis.secured().tls().certificate().toString() : null);
  }

  @Test
  void theUserWithItsPasswordAndTheServersCaUsesTheCacheOverTls() throws Exception {
    RedisEndpoint endpoint = endpoint("streamrag-cache", "password", true);
    assertThat(endpoint.tls()).isTrue();
    try (RedisCache cache =
        RedisCache.builder().endpoint(endpoint).timeout(Duration.ofSeconds(2)).build()) {
      assertThat(cache.put("secure-k", "v".getBytes(UTF_8), Duration.ofMinutes(1)).get()).isTrue();
      CacheLookup hit = cache.get("secure-k").get();
      assertThat(hit.status()).isEqualTo(CacheLookup.Status.HIT);
      assertThat(new String(hit.value(), UTF_8)).isEqualTo("v");
    }
  }

  @Test
  void aWrongPasswordNoLoginOrAnUntrustedServerGetsNothing() throws Exception {
    String password = redis.secured().password();
    for (RedisEndpoint endpoint :
        new RedisEndpoint[] {
          endpoint("streamrag-cache", "wrong", true),
          endpoint(null, null, true),
          endpoint("streamrag-cache", "password", false)
        }) {
      try (RedisCache cache =
          RedisCache.builder().endpoint(endpoint).timeout(Duration.ofSeconds(2)).build()) {
        CacheLookup lookup = cache.get("secure-k").get();
        assertThat(lookup.status())
            .as(endpoint.toString())
            .isEqualTo(CacheLookup.Status.UNAVAILABLE);
        assertThat(lookup.reason()).as(endpoint.toString()).isNotBlank().doesNotContain(password);
        assertThat(cache.put("x", new byte[] {1}, Duration.ofMinutes(1)).get()).isFalse();
      }
    }
  }

  @Test
  void theEndpointHoldsNoSecretAndRefusesAPasswordInTheUrl() throws Exception {
    RedisEndpoint endpoint = endpoint("streamrag-cache", "password", true);
    String password = redis.secured().password();
    assertThat(endpoint.toString()).doesNotContain(password).contains("${dir:");
    assertThat(new String(InstantiationUtil.serializeObject(endpoint), UTF_8))
        .doesNotContain(password);
    assertThatThrownBy(() -> RedisEndpoint.of("redis://:" + password + "@127.0.0.1:6379"))
        .hasMessageContaining("redis.password")
        .hasMessageNotContaining(password);
    assertThatThrownBy(() -> RedisEndpoint.of("http://127.0.0.1:6379"))
        .hasMessageContaining("redis://");
    assertThatThrownBy(() -> RedisEndpoint.of("redis-sentinel://:" + password + "@h:26379"))
        .hasMessageNotContaining(password);
  }
}
