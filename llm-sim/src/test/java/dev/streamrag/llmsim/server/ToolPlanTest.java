package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The several-step plan over real HTTP: an agent loop sends each tool call's result back until the
 * model answers. The tools are played by this test from a small table of facts, shaped as the demo
 * MCP server's (mcp-tools) results are.
 */
@Timeout(60)
class ToolPlanTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String LOOKUP =
      "{\"type\":\"function\",\"function\":{\"name\":\"lookup_entity\","
          + "\"description\":\"Look up an entity's facts, such as a river's length\","
          + "\"parameters\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
          + "\"tenant\":{\"type\":\"string\"}},\"required\":[\"name\"]}}}";
  private static final String COMPUTE =
      "{\"type\":\"function\",\"function\":{\"name\":\"compute\","
          + "\"description\":\"Evaluate arithmetic\",\"parameters\":{\"type\":\"object\","
          + "\"properties\":{\"expression\":{\"type\":\"string\"}},\"required\":[\"expression\"]}}}";
  private static final String TOOLS = "[" + LOOKUP + "," + COMPUTE + "]";
  private static final Map<String, String> ENTITIES =
      Map.of(
          "the zeaklou river",
              "{\"name\":\"the Zeaklou River\",\"kind\":\"river\",\"facts\":{\"length\":\"2133 km\",\"source\":\"the Foo Hills\",\"mouth\":\"Lake Bar\"}}",
          "the zehaithel river",
              "{\"name\":\"the Zehaithel River\",\"kind\":\"river\",\"facts\":{\"length\":\"1181 km\",\"source\":\"the Baz Hills\",\"mouth\":\"Lake Qux\"}}",
          "diodu industries",
              "{\"name\":\"Diodu Industries\",\"kind\":\"company\",\"facts\":{\"founder\":\"Ann Oak\",\"headquarters\":\"Vell\",\"employees\":\"52000\"}}",
          "varo works",
              "{\"name\":\"Varo Works\",\"kind\":\"company\",\"facts\":{\"founder\":\"Bo Elm\",\"headquarters\":\"Tarn\",\"employees\":\"61000\"}}",
          "the kesh probe",
              "{\"name\":\"the Kesh probe\",\"kind\":\"probe\",\"facts\":{\"launch_year\":\"1977\",\"target_moon\":\"Io\",\"launch_mass\":\"722 kg\"}}",
          "the lume probe",
              "{\"name\":\"the Lume probe\",\"kind\":\"probe\",\"facts\":{\"launch_year\":\"1989\",\"target_moon\":\"Eos\",\"launch_mass\":\"2223 kg\"}}");

  private static SimServer server;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    server = SimServer.start(FAST, "m", 0, 1 << 20);
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void namesAreCapitalisedRunsWithTheNounAfterTheOnes() {
    assertThat(
            ToolPlan.names(
                "What is the combined length of the Zeaklou River and the Zehaithel River?"))
        .containsExactly("the Zeaklou River", "the Zehaithel River");
    assertThat(
            ToolPlan.names(
                "What is the combined launch mass of the Kesh probe and the Lume probe?"))
        .containsExactly("the Kesh probe", "the Lume probe");
    assertThat(ToolPlan.names("How many years after Ann Oak did Bo Elm publish their first paper?"))
        .containsExactly("Ann Oak", "Bo Elm");
    assertThat(ToolPlan.names("Tell me a joke.")).isEmpty();
  }

  @Test
  void aCombinedQuestionTakesTwoLookupsAComputationAndAnAnswerWithTheUnit() throws Exception {
    Run run = agent("What is the combined length of the Zeaklou River and the Zehaithel River?");
    assertThat(run.calls())
        .containsExactly(
            "lookup_entity {\"name\":\"the Zeaklou River\"}",
            "lookup_entity {\"name\":\"the Zehaithel River\"}",
            "compute {\"expression\":\"2133 + 1181\"}");
    assertThat(run.answer()).isEqualTo("The answer is 3314 km.");
  }

  @Test
  void aDifferenceIsTakenLargerFirstOnTheAttributeTheQuestionNames() throws Exception {
    Run staff = agent("How many more people does Varo Works employ than Diodu Industries?");
    assertThat(staff.calls()).last().isEqualTo("compute {\"expression\":\"61000 - 52000\"}");
    assertThat(staff.answer()).isEqualTo("The answer is 9000.");

    Run mass = agent("What is the combined launch mass of the Kesh probe and the Lume probe?");
    assertThat(mass.calls()).last().isEqualTo("compute {\"expression\":\"722 + 2223\"}");
    assertThat(mass.answer()).isEqualTo("The answer is 2945 kg.");
  }

  @Test
  void anUnknownNameEndsInAnAnswerThatSaysSoNotALoop() throws Exception {
    Run run = agent("What is the combined length of the Zeaklou River and the Nowhere River?");
    assertThat(run.calls()).hasSize(2);
    assertThat(run.answer()).startsWith("I could not find the Nowhere River: Unknown entity");
  }

  @Test
  void withOneNameTheOneCallRuleDecides() throws Exception {
    // One name: the one-call rule, the tool sharing words with the question, the question as its
    // argument.
    JsonNode one = step(List.of(user("What is the length of the Zeaklou River?")), TOOLS);
    assertThat(one.at("/message/tool_calls/0/function/name").asText()).isEqualTo("lookup_entity");
    assertThat(one.at("/message/tool_calls/0/function/arguments").asText())
        .contains("What is the length of the Zeaklou River?");
    // Without a compute tool the plan does not apply either.
    String lookupOnly = "[" + LOOKUP + "]";
    JsonNode two =
        step(
            List.of(
                user("What is the combined length of the Zeaklou River and the Zehaithel River?")),
            lookupOnly);
    assertThat(two.at("/message/tool_calls/0/function/arguments").asText())
        .as("the one-call rule: the question as the argument")
        .contains("combined length");
  }

  /** The conversation's tool calls, as "name arguments", and the final answer. */
  record Run(List<String> calls, String answer) {}

  private static Run agent(String question) throws Exception {
    List<JsonNode> messages = new ArrayList<>(List.of(user(question)));
    List<String> calls = new ArrayList<>();
    for (int step = 0; step < 8; step++) {
      JsonNode choice = step(messages, TOOLS);
      if (!choice.get("finish_reason").asText().equals("tool_calls")) {
        return new Run(calls, choice.at("/message/content").asText());
      }
      JsonNode call = choice.at("/message/tool_calls/0");
      String name = call.at("/function/name").asText();
      String arguments = call.at("/function/arguments").asText();
      calls.add(name + " " + arguments);
      ObjectNode assistant = JSON.createObjectNode().put("role", "assistant");
      assistant.putNull("content");
      assistant.putArray("tool_calls").add(call);
      messages.add(assistant);
      messages.add(
          JSON.createObjectNode()
              .put("role", "tool")
              .put("tool_call_id", call.get("id").asText())
              .put("content", execute(name, JSON.readTree(arguments))));
    }
    throw new AssertionError("no answer after 8 steps: " + calls);
  }

  private static String execute(String tool, JsonNode arguments) {
    if (tool.equals("lookup_entity")) {
      String key = arguments.get("name").asText().toLowerCase(Locale.ROOT);
      return ENTITIES.getOrDefault(
          key, "Unknown entity \"" + arguments.get("name").asText() + "\".");
    }
    String[] terms = arguments.get("expression").asText().split(" ");
    BigDecimal x = new BigDecimal(terms[0]);
    BigDecimal y = new BigDecimal(terms[2]);
    return (terms[1].equals("+") ? x.add(y) : x.subtract(y)).toPlainString();
  }

  private static JsonNode step(List<JsonNode> messages, String tools) throws Exception {
    ObjectNode body = JSON.createObjectNode().put("model", "m").put("max_tokens", 64);
    ArrayNode list = body.putArray("messages");
    messages.forEach(list::add);
    body.set("tools", JSON.readTree(tools));
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).at("/choices/0");
  }

  private static JsonNode user(String text) {
    return JSON.createObjectNode().put("role", "user").put("content", text);
  }
}
