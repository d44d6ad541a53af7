package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Which call the {@code tool_repeat} fault repeats, and when a request does not qualify. */
class RepeatedToolCallTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOOLS =
      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup_entity\","
          + "\"parameters\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}},"
          + "{\"type\":\"function\",\"function\":{\"name\":\"compute\","
          + "\"parameters\":{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\"}}}}}]";
  private static final String USER = "{\"role\":\"user\",\"content\":\"Q?\"}";

  private static String assistant(String... calls) {
    return "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        + String.join(",", calls)
        + "]}";
  }

  private static String call(String id, String name, String arguments) {
    return "{\"id\":\""
        + id
        + "\",\"type\":\"function\",\"function\":{\"name\":\""
        + name
        + "\",\"arguments\":"
        + JSON.valueToTree(arguments)
        + "}}";
  }

  private static String tool(String id, String content) {
    return "{\"role\":\"tool\",\"tool_call_id\":\"" + id + "\",\"content\":\"" + content + "\"}";
  }

  private static ToolCallRule.ToolCall candidate(String extra, String... messages)
      throws Exception {
    JsonNode body =
        JSON.readTree(
            "{\"model\":\"m\",\"messages\":["
                + String.join(",", messages)
                + "],"
                + TOOLS
                + extra
                + "}");
    return RepeatedToolCall.candidate(body);
  }

  @Test
  void repeatsTheMostRecentCallWithExactlyItsArguments() throws Exception {
    // Spacing and key order kept as sent: the repeat is byte for byte the same arguments.
    String arguments = "{\"name\":  \"the Zeaklou River\" }";
    ToolCallRule.ToolCall repeated =
        candidate(
            "",
            USER,
            assistant(call("c1", "compute", "{\"expression\":\"1 + 1\"}")),
            tool("c1", "2"),
            assistant(
                call("c2", "compute", "{\"expression\":\"2 + 2\"}"),
                call("c3", "lookup_entity", arguments)),
            tool("c2", "4"),
            tool("c3", "{}"));
    assertThat(repeated).isEqualTo(new ToolCallRule.ToolCall("lookup_entity", arguments));
  }

  @Test
  void argumentsSentAsAnObjectAreRepeatedAsItsJson() throws Exception {
    String asObject =
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
            + "\"function\":{\"name\":\"compute\",\"arguments\":{\"expression\":\"1 + 1\"}}}]}";
    assertThat(candidate("", USER, asObject, tool("c1", "2")))
        .isEqualTo(new ToolCallRule.ToolCall("compute", "{\"expression\":\"1 + 1\"}"));
  }

  @Test
  void onlyAfterAToolResultThatFollowsACall() throws Exception {
    String lookup = assistant(call("c1", "lookup_entity", "{\"name\":\"x\"}"));
    assertThat(candidate("", USER)).as("no call yet").isNull();
    assertThat(candidate("", USER, lookup, tool("c1", "r"), USER))
        .as("the last message is the user's")
        .isNull();
    assertThat(candidate("", USER, tool("c1", "r"))).as("a result without a call").isNull();
  }

  @Test
  void notWhenTheClientForbidsToolsOrNoLongerOffersTheOne() throws Exception {
    String lookup = assistant(call("c1", "lookup_entity", "{\"name\":\"x\"}"));
    assertThat(candidate(",\"tool_choice\":\"none\"", USER, lookup, tool("c1", "r"))).isNull();
    assertThat(candidate(",\"tool_choice\":\"required\"", USER, lookup, tool("c1", "r")))
        .isNotNull();
    String gone = assistant(call("c1", "delete_everything", "{}"));
    assertThat(candidate("", USER, gone, tool("c1", "r"))).isNull();
    JsonNode withoutTools =
        JSON.readTree(
            "{\"model\":\"m\",\"messages\":[" + USER + "," + lookup + "," + tool("c1", "r") + "]}");
    assertThat(RepeatedToolCall.candidate(withoutTools)).isNull();
  }
}
