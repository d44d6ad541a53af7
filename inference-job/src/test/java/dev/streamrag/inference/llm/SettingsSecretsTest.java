package dev.streamrag.inference.llm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.security.SecretReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LLM settings hold where the API key is, never the key: what is serialized into the job graph
 * and what {@code toString} prints cannot contain it (issue 20).
 */
class SettingsSecretsTest {
  @Test
  void theSettingsCarryTheReferenceAndTheKeyIsReadOnlyWhenAsked(@TempDir Path dir)
      throws Exception {
    String key = "sk-test-0123456789abcdef";
    Files.writeString(dir.resolve("api-key"), key + "\n");
    SecretReference reference = SecretReference.parse("${dir:" + dir + ":api-key}").orElseThrow();
    GenerateAnswer.Settings settings =
        new GenerateAnswer.Settings(
            List.of(),
            1.5,
            Duration.ofSeconds(1),
            new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(100)),
            Duration.ofSeconds(30),
            reference,
            false,
            LlmResilienceSettings.builder().build());

    assertThat(settings.toString()).doesNotContain(key).contains("apiKey=${dir:");
    byte[] serialized = InstantiationUtil.serializeObject(settings);
    assertThat(new String(serialized, StandardCharsets.ISO_8859_1)).doesNotContain(key);
    GenerateAnswer.Settings copy =
        InstantiationUtil.deserializeObject(serialized, getClass().getClassLoader());
    assertThat(copy.apiKey().resolve()).as("read where the task opens").isEqualTo(key);
  }
}
