package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.testsupport.junit.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Set, get and expiry against a real redis-server. */
@Timeout(60)
class RedisSmokeIT {
  @RegisterExtension static final RedisExtension REDIS = new RedisExtension();

  @Test
  void valuesAreStoredAndExpireAfterTheirTtl() {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      RedisCommands<String, String> redis = connection.sync();

      redis.set("smoke:long", "kept", SetArgs.Builder.ex(60));
      assertThat(redis.get("smoke:long")).isEqualTo("kept");
      assertThat(redis.ttl("smoke:long")).isBetween(1L, 60L);

      redis.set("smoke:short", "gone soon", SetArgs.Builder.px(300));
      assertThat(redis.get("smoke:short")).isEqualTo("gone soon");
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (redis.get("smoke:short") != null && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertThat(redis.get("smoke:short")).isNull();
      assertThat(redis.get("smoke:long")).isEqualTo("kept");
    } finally {
      client.shutdown();
    }
  }
}
