package dev.streamrag.inference.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RetryPolicy;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The LLM settings never print their API key (issue 20: secrets stay out of logs). */
class SettingsSecretsTest {
  @Test
  void toStringSaysAKeyIsSetWithoutShowingIt() {
    String key = "sk-test-0123456789abcdef";
    GenerateAnswer.Settings settings =
        new GenerateAnswer.Settings(
            List.of(),
            1.5,
            Duration.ofSeconds(1),
            new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(100)),
            Duration.ofSeconds(30),
            key,
            false,
            LlmResilienceSettings.builder().build());
    assertThat(settings.toString()).doesNotContain(key).contains("apiKey=(set, not shown)");
    assertThat(settings.apiKey()).isEqualTo(key);
  }
}
