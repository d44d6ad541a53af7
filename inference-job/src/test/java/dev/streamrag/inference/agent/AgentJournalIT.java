package dev.streamrag.inference.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.cache.RedisEndpoint;
import dev.streamrag.testsupport.junit.RedisExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The step journal on a real Redis, and on a Redis that is not there. */
@Timeout(60)
class AgentJournalIT {
  @RegisterExtension static final RedisExtension REDIS = new RedisExtension();

  @Test
  void whatIsWrittenIsReadBack() throws Exception {
    try (AgentJournal journal =
        AgentJournal.redis(
            RedisEndpoint.of(REDIS.uri()), Duration.ofSeconds(1), Duration.ofMinutes(1))) {
      journal
          .write(
              "streamrag:agent:t:r:1:0:llm", "{\"text\":\"hi\"}".getBytes(StandardCharsets.UTF_8))
          .get(5, TimeUnit.SECONDS);
      assertThat(journal.read("streamrag:agent:t:r:1:0:llm").get(5, TimeUnit.SECONDS))
          .asString(StandardCharsets.UTF_8)
          .isEqualTo("{\"text\":\"hi\"}");
      assertThat(journal.read("streamrag:agent:t:r:1:1:llm").get(5, TimeUnit.SECONDS)).isNull();
    }
  }

  @Test
  void aJournalThatCannotBeReachedReadsAsEmpty() throws Exception {
    try (AgentJournal journal =
        AgentJournal.redis(
            RedisEndpoint.of("redis://127.0.0.1:1"),
            Duration.ofMillis(200),
            Duration.ofMinutes(1))) {
      journal.write("k", new byte[] {1}).get(5, TimeUnit.SECONDS);
      assertThat(journal.read("k").get(5, TimeUnit.SECONDS)).isNull();
    }
  }
}
