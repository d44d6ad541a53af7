package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.corpus.Entity;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tools' handlers called directly: the messages a model reads, and failures as results. */
class ToolCatalogTest {
  private static final EntityTools ENTITIES =
      new EntityTools(
          List.of(
              new Entity(
                  "doc-000000",
                  "acme",
                  "river",
                  "the Oslen River",
                  Map.of("length", "1234 km", "source", "the Foo Hills"))));

  private static CallToolResult call(
      McpJsonMapper json, String tool, Map<String, Object> arguments) {
    SyncToolSpecification spec =
        ToolCatalog.tools(ENTITIES, json).stream()
            .filter(s -> s.tool().name().equals(tool))
            .findFirst()
            .orElseThrow();
    // The handlers do not use the exchange.
    return spec.callHandler()
        .apply(null, CallToolRequest.builder(tool).arguments(arguments).build());
  }

  private static CallToolResult call(String tool, Map<String, Object> arguments) {
    return call(McpJsonDefaults.getMapper(), tool, arguments);
  }

  private static String text(CallToolResult result) {
    return ((TextContent) result.content().get(0)).text();
  }

  @Test
  void lookupReturnsTheFactsSortedAsJson() throws IOException {
    CallToolResult result = call("lookup_entity", Map.of("name", "oslen river"));
    assertThat(result.isError()).isFalse();
    assertThat(text(result))
        .isEqualTo(
            "{\"name\":\"the Oslen River\",\"kind\":\"river\",\"tenant\":\"acme\","
                + "\"doc_id\":\"doc-000000\","
                + "\"facts\":{\"length\":\"1234 km\",\"source\":\"the Foo Hills\"}}");
    assertThat(
            McpJsonDefaults.getMapper()
                .readValue(text(result), new TypeRef<Map<String, Object>>() {}))
        .containsKey("facts");
  }

  @Test
  void anUnknownNameSaysSoAndOffersTheClosest() {
    CallToolResult typo = call("lookup_entity", Map.of("name", "Olsen River"));
    assertThat(typo.isError()).isTrue();
    assertThat(text(typo))
        .isEqualTo("Unknown entity \"Olsen River\". Closest names: \"the Oslen River\".");

    CallToolResult elsewhere =
        call("lookup_entity", Map.of("name", "the Oslen River", "tenant", "globex"));
    assertThat(elsewhere.isError()).isTrue();
    assertThat(text(elsewhere))
        .isEqualTo(
            "Unknown entity \"the Oslen River\" for tenant \"globex\". No similar name is"
                + " known; list_entities lists names.");
  }

  @Test
  void aMissingNameIsAnError() {
    Map<String, Object> blank = new HashMap<>();
    blank.put("name", " ");
    assertThat(call("lookup_entity", blank).isError()).isTrue();
    assertThat(call("lookup_entity", Map.of()).isError()).isTrue();
  }

  @Test
  void computeAnswersWithTheNumberOrWhyNot() {
    assertThat(text(call("compute", Map.of("expression", "1234 + 567")))).isEqualTo("1801");
    CallToolResult byZero = call("compute", Map.of("expression", "1 / (2 - 2)"));
    assertThat(byZero.isError()).isTrue();
    assertThat(text(byZero)).isEqualTo("Cannot compute: division by zero (the '/' at position 3).");
    assertThat(call("compute", Map.of()).isError()).isTrue();
  }

  @Test
  void aFailingHandlerIsAnErrorResultNotAnException() {
    McpJsonMapper broken =
        new McpJsonMapper() {
          @Override
          public <T> T readValue(String content, Class<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public <T> T readValue(byte[] content, Class<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public <T> T readValue(String content, TypeRef<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public <T> T readValue(byte[] content, TypeRef<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public <T> T convertValue(Object fromValue, Class<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public <T> T convertValue(Object fromValue, TypeRef<T> type) {
            throw new UnsupportedOperationException();
          }

          @Override
          public String writeValueAsString(Object value) throws IOException {
            throw new IOException("disk on fire");
          }

          @Override
          public byte[] writeValueAsBytes(Object value) throws IOException {
            throw new IOException("disk on fire");
          }
        };
    CallToolResult result = call(broken, "lookup_entity", Map.of("name", "the Oslen River"));
    assertThat(result.isError()).isTrue();
    assertThat(text(result))
        .startsWith("Tool lookup_entity failed unexpectedly")
        .contains("disk on fire");
  }
}
