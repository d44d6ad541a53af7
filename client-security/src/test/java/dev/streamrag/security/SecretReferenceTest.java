package dev.streamrag.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretReferenceTest {
  @TempDir Path dir;

  @Test
  void readsEachKindOfReference() throws Exception {
    Files.writeString(dir.resolve("api-key"), "s3cret-from-dir\n");
    Files.writeString(dir.resolve("secrets.properties"), "llm.key = s3cret-from-file\n");

    assertThat(
            SecretReference.parse("${env:LLM_KEY}").orElseThrow().resolve(Map.of("LLM_KEY", "e")))
        .isEqualTo("e");
    assertThat(SecretReference.parse("${dir:" + dir + ":api-key}").orElseThrow().resolve())
        .as("a mounted Secret's file, its trailing newline trimmed")
        .isEqualTo("s3cret-from-dir");
    assertThat(
            SecretReference.parse("${file:" + dir.resolve("secrets.properties") + ":llm.key}")
                .orElseThrow()
                .resolve())
        .isEqualTo("s3cret-from-file");
  }

  @Test
  void aLiteralSecretIsRefusedNamingTheSettingButNotTheValue() {
    assertThatThrownBy(() -> SecretReference.ofSetting("llm.api-key", "sk-live-123"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("llm.api-key must be a secret reference")
        .hasMessageNotContaining("sk-live-123");
    assertThat(SecretReference.ofSetting("llm.api-key", "")).isEmpty();
    assertThat(SecretReference.ofSetting("llm.api-key", "${env:X}")).isPresent();
  }

  @Test
  void aMissingSecretFailsNamingTheReferenceOnly() {
    SecretReference reference = SecretReference.parse("${env:NOT_SET_ANYWHERE}").orElseThrow();
    assertThatThrownBy(() -> reference.resolve(Map.of()))
        .hasMessageContaining("${env:NOT_SET_ANYWHERE}");
    assertThatThrownBy(
            () -> SecretReference.parse("${dir:" + dir + ":absent}").orElseThrow().resolve())
        .hasMessageContaining("absent");
  }

  @Test
  void onlyWholeWellFormedReferencesParse() {
    assertThat(SecretReference.parse("${dir:/only-a-dir}")).isEmpty();
    assertThat(SecretReference.parse("${vault:x}")).isEmpty();
    assertThat(SecretReference.parse("prefix ${env:X}")).isEmpty();
    assertThat(SecretReference.containsReference("password=\"${env:X}\";")).isTrue();
    assertThat(SecretReference.parse(" ${env:X} ").orElseThrow()).hasToString("${env:X}");
  }
}
