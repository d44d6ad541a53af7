package dev.streamrag.inference.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ToolAccessTest {
  @Test
  void aTenantsOwnEntryReplacesTheDefault() {
    ToolAccess access = ToolAccess.parse("*=search_documents; acme = lookup_entity|compute");
    assertThat(access.allowed("globex", "search_documents")).isTrue();
    assertThat(access.allowed("globex", "compute")).isFalse();
    assertThat(access.allowed("acme", "compute")).isTrue();
    assertThat(access.allowed("acme", "search_documents")).isFalse();
  }

  @Test
  void withoutADefaultOnlyNamedTenantsMayCallTools() {
    ToolAccess access = ToolAccess.parse("acme=*");
    assertThat(access.allowed("acme", "anything")).isTrue();
    assertThat(access.allowed("globex", "anything")).isFalse();
    assertThat(ToolAccess.parse("").allowed("acme", "x")).isFalse();
    assertThat(ToolAccess.everything().allowed("anyone", "x")).isTrue();
  }

  @Test
  void malformedEntriesAreNamed() {
    assertThatThrownBy(() -> ToolAccess.parse("acme"))
        .hasMessageContaining("'acme' is not tenant=tool|tool");
    assertThatThrownBy(() -> ToolAccess.parse("acme=a b"))
        .hasMessageContaining("'a b' (tenant acme) is not a tool name");
    assertThatThrownBy(() -> ToolAccess.parse("acme=a;acme=b")).hasMessageContaining("two entries");
  }
}
