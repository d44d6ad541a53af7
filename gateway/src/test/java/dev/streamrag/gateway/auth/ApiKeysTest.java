package dev.streamrag.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
  private static final String ACME_KEY = "sk-acme-0123456789abcdef";
  private static final String GLOBEX_KEY = "sk-globex-0123456789abcdef";

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
    assertThat(ApiKeysFile.parseList("sk-secret", "ENV").errors().get(0))
        .doesNotContain("sk-secret");
  }

  @Test
  void aListFromTheEnvironment() {
    ApiKeysFile.Parsed parsed =
        ApiKeysFile.parseList(
            ACME_KEY + "=acme, " + GLOBEX_KEY + "=globex,,bad,=t,k=,k k=t",
            "STREAMRAG_GATEWAY_API_KEYS");
    assertThat(parsed.entries()).extracting(ApiKeyEntry::key).containsExactly(ACME_KEY, GLOBEX_KEY);
    assertThat(parsed.entries()).extracting(ApiKeyEntry::tenant).containsExactly("acme", "globex");
    assertThat(parsed.entries().get(1).origin()).isEqualTo("STREAMRAG_GATEWAY_API_KEYS entry #2");
    assertThat(parsed.errors())
        .containsExactly(
            "STREAMRAG_GATEWAY_API_KEYS entry #4: expected key=tenant",
            "STREAMRAG_GATEWAY_API_KEYS entry #5: expected key=tenant",
            "STREAMRAG_GATEWAY_API_KEYS entry #6: expected key=tenant",
            "STREAMRAG_GATEWAY_API_KEYS entry #7: expected key=tenant without spaces");
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
  void aKeysFileOthersCanReadIsReported(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys.txt");
    Files.writeString(file, ACME_KEY + " acme\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertThat(ApiKeysFile.exposure(file)).isNull();
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
    assertThat(ApiKeysFile.exposure(file)).contains("rw-r-----").contains("chmod 600");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw----r--"));
    assertThat(ApiKeysFile.exposure(file)).contains("accessible to its group or others");
  }

  @Test
  void lookupByBearerHeader() {
    ApiKeys keys =
        ApiKeys.of(
            List.of(
                new ApiKeyEntry(ACME_KEY, "acme", "a"),
                new ApiKeyEntry(GLOBEX_KEY, "globex", "b")));
    assertThat(keys.size()).isEqualTo(2);
    assertThat(keys.tenantOfHeader("Bearer " + ACME_KEY)).contains("acme");
    assertThat(keys.tenantOfHeader("bearer " + GLOBEX_KEY)).contains("globex");
    assertThat(keys.tenantOfHeader("Bearer  " + ACME_KEY + " ")).contains("acme");
    assertThat(keys.tenantOfHeader("Bearer " + ACME_KEY.substring(1))).isEmpty();
    assertThat(keys.tenantOfHeader("Basic " + ACME_KEY)).isEmpty();
    assertThat(keys.tenantOfHeader("Bearer ")).isEmpty();
    assertThat(keys.tenantOfHeader(null)).isEmpty();
    assertThat(keys.tenantOfKey(ACME_KEY)).contains("acme");
  }

  @Test
  void whatIsKeptHoldsNoKeyOnlyTheirDigests() {
    ApiKeys keys =
        ApiKeys.of(
            List.of(
                new ApiKeyEntry(ACME_KEY, "acme", "a"),
                new ApiKeyEntry(GLOBEX_KEY, "globex", "b")));
    assertThat(keys.stored()).hasSize(2);
    assertThat(keys.stored().keySet())
        .allSatisfy(
            digest ->
                assertThat(digest)
                    .matches("[0-9a-f]{64}")
                    .doesNotContain(ACME_KEY)
                    .doesNotContain(GLOBEX_KEY));
    assertThat(keys.stored().values()).containsExactlyInAnyOrder("acme", "globex");
    assertThat(keys.stored()).containsEntry(ApiKeys.digest(ACME_KEY), "acme");
  }

  @Test
  void shortDuplicateAndMissingKeysAreRefused() {
    assertThatThrownBy(
            () ->
                ApiKeys.of(
                    List.of(
                        new ApiKeyEntry(ACME_KEY, "acme", "keys.txt line 1"),
                        new ApiKeyEntry(ACME_KEY, "globex", "keys.txt line 2"))))
        .hasMessageContaining("keys.txt line 2: the same key as keys.txt line 1")
        .hasMessageNotContaining(ACME_KEY);
    assertThatThrownBy(
            () -> ApiKeys.of(List.of(new ApiKeyEntry("sk-local-acme", "acme", "keys.txt line 1"))))
        .hasMessageContaining("keys.txt line 1: the key is shorter than 16 characters")
        .hasMessageNotContaining("sk-local-acme");
    assertThat(ApiKeys.of(List.of(new ApiKeyEntry("k".repeat(16), "acme", "x"))).size())
        .isEqualTo(1);
    assertThatThrownBy(() -> ApiKeys.of(List.of())).hasMessageContaining("no API keys");
  }
}
