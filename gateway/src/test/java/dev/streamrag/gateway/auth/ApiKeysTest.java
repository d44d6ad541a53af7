package dev.streamrag.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
  @Test
  void fileLinesWithCommentsAndBlanks() {
    ApiKeysFile.Parsed parsed =
        ApiKeysFile.parse(
            List.of(
                "# keys of the demo tenants",
                "",
                "sk-acme-1   acme",
                "  sk-globex\tglobex  ",
                "sk-broken",
                "sk-a b c"),
            "keys.txt");
    assertThat(parsed.entries()).extracting(ApiKeyEntry::tenant).containsExactly("acme", "globex");
    assertThat(parsed.entries().get(1).origin()).isEqualTo("keys.txt line 4");
    assertThat(parsed.errors())
        .containsExactly(
            "keys.txt line 5: expected '<key> <tenant>' (two fields), found 1 fields",
            "keys.txt line 6: expected '<key> <tenant>' (two fields), found 3 fields");
    assertThat(parsed.isOk()).isFalse();
  }

  @Test
  void errorsAndEntriesNeverShowTheKey() {
    ApiKeysFile.Parsed parsed = ApiKeysFile.parse(List.of("sk-secret"), "keys.txt");
    assertThat(parsed.errors().get(0)).doesNotContain("sk-secret");
    ApiKeyEntry entry = new ApiKeyEntry("sk-secret", "acme", "x");
    assertThat(entry.toString()).doesNotContain("sk-secret").contains("acme");
  }

  @Test
  void options() {
    ApiKeysFile.Parsed parsed =
        ApiKeysFile.parseOptions(List.of("sk-1=acme", "bad", "=acme", "sk-2=", "sk 3=acme"));
    assertThat(parsed.entries()).extracting(ApiKeyEntry::key).containsExactly("sk-1");
    assertThat(parsed.errors()).hasSize(4).allSatisfy(e -> assertThat(e).contains("KEY=TENANT"));
  }

  @Test
  void readsAFileAndReportsAMissingOne(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys.txt");
    Files.writeString(file, "k1 t1\nk2 t2\n");
    assertThat(ApiKeysFile.read(file).entries()).hasSize(2);
    ApiKeysFile.Parsed missing = ApiKeysFile.read(dir.resolve("nope.txt"));
    assertThat(missing.errors()).singleElement().asString().contains("cannot read");
  }

  @Test
  void lookupByBearerHeader() {
    ApiKeys keys =
        ApiKeys.of(
            List.of(
                new ApiKeyEntry("sk-acme", "acme", "a"), new ApiKeyEntry("sk-glx", "globex", "b")));
    assertThat(keys.size()).isEqualTo(2);
    assertThat(keys.tenantOfHeader("Bearer sk-acme")).contains("acme");
    assertThat(keys.tenantOfHeader("bearer sk-glx")).contains("globex");
    assertThat(keys.tenantOfHeader("Bearer  sk-acme ")).contains("acme");
    assertThat(keys.tenantOfHeader("Bearer sk-acm")).isEmpty();
    assertThat(keys.tenantOfHeader("Basic sk-acme")).isEmpty();
    assertThat(keys.tenantOfHeader("Bearer ")).isEmpty();
    assertThat(keys.tenantOfHeader(null)).isEmpty();
    assertThat(keys.tenantOfKey("sk-acme")).contains("acme");
  }

  @Test
  void onlyDigestsAreKept() {
    assertThat(ApiKeys.digest("sk-acme")).hasSize(64).doesNotContain("sk-acme");
  }

  @Test
  void duplicateKeysAndNoKeysAreRefused() {
    assertThatThrownBy(
            () ->
                ApiKeys.of(
                    List.of(
                        new ApiKeyEntry("sk-1", "acme", "keys.txt line 1"),
                        new ApiKeyEntry("sk-1", "globex", "keys.txt line 2"))))
        .hasMessageContaining("keys.txt line 2: the same key as keys.txt line 1")
        .hasMessageNotContaining("sk-1");
    assertThatThrownBy(() -> ApiKeys.of(List.of())).hasMessageContaining("no API keys");
  }
}
