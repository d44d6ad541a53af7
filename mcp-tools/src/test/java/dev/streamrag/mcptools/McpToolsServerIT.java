package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.Entity;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.corpus.MultiHopQuestion.ToolStep;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.InitializeResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server as an MCP client sees it: started in this JVM on a free port, driven over HTTP by the
 * SDK's own Streamable HTTP client, as an agent would drive it.
 */
@Timeout(60)
class McpToolsServerIT {
  private static final long SEED = 42;
  private static final int DOCUMENTS = 200;
  private static final List<String> TENANTS = List.of("acme", "globex");
  private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

  private static DemoCorpus corpus;
  private static McpToolsServer server;
  private static McpSyncClient client;
  private static InitializeResult initialized;

  @BeforeAll
  static void start() {
    // The same corpus the server generates: same seed, size and tenants.
    corpus = DemoCorpus.generate(SEED, DOCUMENTS, TENANTS);
    server =
        McpToolsServer.builder()
            .port(0)
            .corpusSeed(SEED)
            .corpusDocuments(DOCUMENTS)
            .tenants(TENANTS)
            .start();
    client = newClient();
    initialized = client.initialize();
  }

  @AfterAll
  static void stop() {
    try {
      if (client != null) {
        client.closeGracefully();
      }
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }

  private static McpSyncClient newClient() {
    return McpClient.sync(
            HttpClientStreamableHttpTransport.builder(server.baseUrl())
                .endpoint(McpToolsServer.ENDPOINT_PATH)
                .build())
        .requestTimeout(Duration.ofSeconds(10))
        .build();
  }

  private static CallToolResult call(McpSyncClient on, String tool, Map<String, Object> arguments) {
    return on.callTool(CallToolRequest.builder(tool).arguments(arguments).build());
  }

  private static CallToolResult call(String tool, Map<String, Object> arguments) {
    return call(client, tool, arguments);
  }

  /** A call that names itself with an idempotency key in its {@code _meta}, as the job sends it. */
  private static CallToolResult call(
      McpSyncClient on, String tool, Map<String, Object> arguments, String idempotencyKey) {
    return on.callTool(
        CallToolRequest.builder(tool)
            .arguments(arguments)
            .meta(Map.of(McpToolsServer.IDEMPOTENCY_KEY_META, idempotencyKey))
            .build());
  }

  /** The calls in the server's log with this key (the server is shared by this class's tests). */
  private static List<ToolCallRecord> loggedWithKey(String key) {
    return server.callLog().stream().filter(c -> key.equals(c.idempotencyKey())).toList();
  }

  private static String text(CallToolResult result) {
    assertThat(result.content()).hasSize(1).first().isInstanceOf(TextContent.class);
    return ((TextContent) result.content().get(0)).text();
  }

  /** The text of a successful result; fails the test, saying why, on an error result. */
  private static String success(CallToolResult result) {
    assertThat(result.isError()).as("error result: %s", result.content()).isNotEqualTo(true);
    return text(result);
  }

  private static String failure(CallToolResult result) {
    assertThat(result.isError()).as("isError of %s", result.content()).isTrue();
    return text(result);
  }

  private static Map<String, Object> json(String text) throws IOException {
    return McpJsonDefaults.getMapper().readValue(text, new TypeRef<Map<String, Object>>() {});
  }

  /** A JVM that started a server (the local stack, a benchmark) can exit once it is closed. */
  @Test
  void aClosedServerLeavesNoThreadThatKeepsTheJvmAlive() throws Exception {
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    McpToolsServer.builder()
        .port(0)
        .corpusSeed(7)
        .corpusDocuments(10)
        .tenants(List.of("acme"))
        .start()
        .close();
    Thread.sleep(200);
    List<String> left =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> !before.contains(t) && t.isAlive() && !t.isDaemon())
            .map(Thread::getName)
            .toList();
    assertThat(left).as("non-daemon threads the server left").isEmpty();
  }

  @Test
  void initializesAsTheDemoToolsServer() {
    assertThat(server.endpoint()).startsWith("http://127.0.0.1:").endsWith("/mcp");
    assertThat(initialized.serverInfo().name()).isEqualTo(McpToolsServer.SERVER_NAME);
    assertThat(initialized.capabilities().tools()).isNotNull();
    assertThat(initialized.instructions()).contains("lookup_entity").contains("compute");
  }

  @Test
  void listsItsToolsWithTheInputsTheyRequire() {
    Map<String, Tool> tools =
        client.listTools().tools().stream()
            .collect(Collectors.toMap(Tool::name, Function.identity()));
    assertThat(tools).containsOnlyKeys("lookup_entity", "compute", "list_entities");

    Map<String, Object> lookup = tools.get("lookup_entity").inputSchema();
    assertThat(lookup).containsEntry("type", "object").containsEntry("required", List.of("name"));
    assertThat(properties(lookup)).containsOnlyKeys("name", "tenant");

    Map<String, Object> compute = tools.get("compute").inputSchema();
    assertThat(compute).containsEntry("required", List.of("expression"));
    assertThat(properties(compute)).containsOnlyKeys("expression");

    Map<String, Object> list = tools.get("list_entities").inputSchema();
    assertThat(list).doesNotContainKey("required");
    assertThat(properties(list)).containsOnlyKeys("kind", "tenant");

    for (Tool tool : tools.values()) {
      assertThat(tool.description()).as(tool.name()).hasSizeGreaterThan(80);
      assertThat(tool.annotations().readOnlyHint()).as(tool.name()).isTrue();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> properties(Map<String, Object> schema) {
    return (Map<String, Object>) schema.get("properties");
  }

  @Test
  void looksUpAnEntitysFacts() throws IOException {
    for (String kind : List.of("river", "company", "scientist", "probe", "city")) {
      Entity entity = firstOfKind(kind);
      Map<String, Object> found =
          json(success(call("lookup_entity", Map.of("name", entity.name()))));
      assertThat(found)
          .containsEntry("name", entity.name())
          .containsEntry("kind", kind)
          .containsEntry("tenant", entity.tenantId())
          .containsEntry("doc_id", entity.docId())
          .containsEntry("facts", entity.attributes());
    }
  }

  @Test
  void looksUpNamesWrittenAsAModelMightWriteThem() throws IOException {
    Entity river = firstOfKind("river");
    assertThat(river.name()).startsWith("the ");
    String bare = river.name().substring(4).toUpperCase(java.util.Locale.ROOT);
    assertThat(json(success(call("lookup_entity", Map.of("name", bare)))))
        .containsEntry("doc_id", river.docId());
  }

  @Test
  void aTenantSeesOnlyItsOwnEntities() {
    Entity entity = firstOfKind("city");
    String other = TENANTS.get(1 - TENANTS.indexOf(entity.tenantId()));
    success(call("lookup_entity", Map.of("name", entity.name(), "tenant", entity.tenantId())));
    assertThat(failure(call("lookup_entity", Map.of("name", entity.name(), "tenant", other))))
        .contains("Unknown entity")
        .contains(other);
  }

  @Test
  void listsNamesToLookUp() throws IOException {
    Map<String, Object> listing =
        json(success(call("list_entities", Map.of("kind", "probe", "tenant", "acme"))));
    List<String> expected =
        corpus.entities().stream()
            .filter(e -> e.kind().equals("probe") && e.tenantId().equals("acme"))
            .map(Entity::name)
            .toList();
    assertThat(listing)
        .containsEntry("names", expected)
        .containsEntry("total", expected.size())
        .containsEntry("truncated", false);
    assertThat(json(success(call("list_entities", Map.of()))))
        .containsEntry("total", DOCUMENTS)
        .containsEntry("truncated", true);
  }

  @Test
  void computes() {
    assertThat(success(call("compute", Map.of("expression", "1234 + 567")))).isEqualTo("1801");
    assertThat(success(call("compute", Map.of("expression", "(90000 - 1234) / 2"))))
        .isEqualTo("44383");
    assertThat(success(call("compute", Map.of("expression", "-7 / 2")))).isEqualTo("-3.5");
  }

  @Test
  void mistakesAreToolErrorsAndTheSessionCarriesOn() {
    assertThat(failure(call("lookup_entity", Map.of("name", "the Nowhere River"))))
        .startsWith("Unknown entity \"the Nowhere River\".");
    Entity river = firstOfKind("river");
    String typo = river.name().substring(0, river.name().length() - 1); // "...Rive"
    assertThat(failure(call("lookup_entity", Map.of("name", typo))))
        .contains("Closest names: \"" + river.name() + "\"");

    assertThat(failure(call("compute", Map.of("expression", "1 / 0"))))
        .startsWith("Cannot compute: division by zero");
    assertThat(failure(call("compute", Map.of("expression", "1234 km + 567 km"))))
        .contains("unexpected 'k' at position 6");
    assertThat(failure(call("compute", Map.of("expression", "1 +".repeat(100)))))
        .containsAnyOf("200", "long");
    assertThat(
            failure(call("compute", Map.of("expression", "(".repeat(25) + "1" + ")".repeat(25)))))
        .contains("nested more than 20 deep");
    // Arguments the input schema rejects.
    assertThat(failure(call("compute", Map.of()))).contains("expression");
    assertThat(failure(call("lookup_entity", Map.of("name", 12)))).contains("name");
    assertThat(failure(call("list_entities", Map.of("kind", "volcano")))).contains("kind");

    // An unknown tool is the caller's protocol error, not a tool's; the session survives it too.
    assertThatThrownBy(() -> call("delete_everything", Map.of()))
        .isInstanceOf(McpError.class)
        .hasMessageContaining("Unknown tool");

    client.ping();
    assertThat(success(call("compute", Map.of("expression", "2 + 2")))).isEqualTo("4");
  }

  /**
   * The point of the server: an agent answers the corpus's multi-hop questions by calling its
   * tools. Each question's ground-truth steps are run as a client would run them: the numbers in
   * the compute step come from the facts the two lookups returned, and the result is the answer.
   */
  @Test
  void answersMultiHopQuestionsByTheirGroundTruthSteps() throws IOException {
    List<MultiHopQuestion> questions = corpus.multiHopQuestions();
    assertThat(questions).hasSizeGreaterThanOrEqualTo(20);
    // Every fifth question: both tenants and all five kinds, not the first groups only.
    List<MultiHopQuestion> sample = new ArrayList<>();
    for (int i = 0; sample.size() < 20; i += questions.size() / 20) {
      sample.add(questions.get(i));
    }
    assertThat(sample.stream().map(MultiHopQuestion::tenantId).distinct()).hasSize(2);

    for (MultiHopQuestion question : sample) {
      List<ToolStep> steps = question.steps();
      assertThat(steps)
          .extracting(ToolStep::tool)
          .containsExactly("lookup_entity", "lookup_entity", "compute");
      List<Set<String>> factNumbers = new ArrayList<>();
      for (ToolStep lookup : steps.subList(0, 2)) {
        Map<String, Object> arguments = new LinkedHashMap<>(lookup.arguments());
        arguments.put("tenant", question.tenantId());
        Map<String, Object> entity = json(success(call("lookup_entity", arguments)));
        @SuppressWarnings("unchecked")
        Map<String, String> facts = (Map<String, String>) entity.get("facts");
        factNumbers.add(
            facts.values().stream()
                .map(v -> v.replaceAll("[^0-9]", ""))
                .collect(Collectors.toSet()));
      }
      String expression = steps.get(2).arguments().get("expression");
      List<String> operands = numbers(expression);
      assertThat(operands).as(question.questionId()).hasSize(2);
      assertThat(factNumbers.get(0)).as(question.question()).contains(operands.get(0));
      assertThat(factNumbers.get(1)).as(question.question()).contains(operands.get(1));

      String result = success(call("compute", Map.of("expression", expression)));
      assertThat(result)
          .as("%s %s", question.question(), question.answer())
          .isEqualTo(numbers(question.answer()).get(0));
    }
  }

  private static List<String> numbers(String text) {
    List<String> numbers = new ArrayList<>();
    Matcher matcher = NUMBER.matcher(text.replace(" - ", " "));
    while (matcher.find()) {
      numbers.add(matcher.group());
    }
    return numbers;
  }

  @Test
  void sessionsAreIndependent() {
    McpSyncClient second = newClient();
    try {
      second.initialize();
      assertThat(failure(call(second, "compute", Map.of("expression", "1 / 0"))))
          .contains("division by zero");
      assertThat(success(call(second, "compute", Map.of("expression", "6 * 7")))).isEqualTo("42");
    } finally {
      second.closeGracefully();
    }
    // Closing one session leaves the other working.
    assertThat(success(call("compute", Map.of("expression", "6 * 7")))).isEqualTo("42");
  }

  @Test
  void aSecondServerOnATakenPortFailsToStartAndTheFirstCarriesOn() {
    assertThatThrownBy(() -> McpToolsServer.builder().port(server.port()).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("127.0.0.1:" + server.port())
        .hasMessageContaining("in use");
    assertThat(success(call("compute", Map.of("expression", "1 + 1")))).isEqualTo("2");
  }

  @Test
  void closeStopsListeningAndMayBeCalledTwice() throws Exception {
    McpToolsServer other = McpToolsServer.builder().port(0).corpusDocuments(10).start();
    HttpRequest get =
        HttpRequest.newBuilder(URI.create(other.endpoint())).timeout(Duration.ofSeconds(5)).build();
    HttpClient http = HttpClient.newHttpClient();
    // A GET without a session is refused, but by a server that is there.
    assertThat(http.send(get, HttpResponse.BodyHandlers.discarding()).statusCode())
        .isBetween(400, 499);
    other.close();
    other.close();
    assertThatThrownBy(() -> http.send(get, HttpResponse.BodyHandlers.discarding()))
        .isInstanceOf(IOException.class);
  }

  /** A web page the user visits must not reach the local server (DNS rebinding, CSRF). */
  @Test
  void refusesRequestsFromAForeignOrigin() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(server.endpoint()))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("Origin", "http://evil.example")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                        + "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                        + "\"clientInfo\":{\"name\":\"page\",\"version\":\"1\"}}}"))
            .timeout(Duration.ofSeconds(10))
            .build();
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(403);
  }

  @Test
  void recordsEveryCallWithItsIdempotencyKeyAndTime() {
    Instant before = Instant.now();
    assertThat(success(call(client, "compute", Map.of("expression", "20 + 22"), "req-log:1:0")))
        .isEqualTo("42");
    assertThat(success(call("compute", Map.of("expression", "20 + 23")))).isEqualTo("43");
    // Arguments the schema refuses: answered with a tool error, and recorded all the same.
    failure(call(client, "compute", Map.of(), "req-log:2:0"));
    Instant after = Instant.now();

    assertThat(loggedWithKey("req-log:1:0"))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.tool()).isEqualTo("compute");
              assertThat(c.arguments()).isEqualTo(Map.of("expression", "20 + 22"));
              assertThat(c.replayed()).isFalse();
              assertThat(c.receivedAt()).isBetween(before, after);
            });
    assertThat(server.callLog())
        .filteredOn(c -> Map.of("expression", "20 + 23").equals(c.arguments()))
        .singleElement()
        .extracting(ToolCallRecord::idempotencyKey)
        .isNull();
    assertThat(loggedWithKey("req-log:2:0"))
        .singleElement()
        .extracting(ToolCallRecord::arguments)
        .isEqualTo(Map.of());
    assertThatThrownBy(() -> server.callLog().clear())
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aKeyAlreadyAnsweredGetsTheRememberedResultFromAnySession() {
    Entity city = firstOfKind("city");
    Map<String, Object> lookup = Map.of("name", city.name());
    String first = success(call(client, "lookup_entity", lookup, "req-replay:1:0"));
    assertThat(success(call(client, "lookup_entity", lookup, "req-replay:1:0"))).isEqualTo(first);
    // A client that lost its session (or its server's peer) retries on a new one: still the same.
    McpSyncClient second = newClient();
    try {
      second.initialize();
      assertThat(success(call(second, "lookup_entity", lookup, "req-replay:1:0"))).isEqualTo(first);
      // The key names one call: reused for another, it is refused, not answered with the first.
      assertThat(
              failure(
                  call(second, "lookup_entity", Map.of("name", "Someone Else"), "req-replay:1:0")))
          .contains("already used");
    } finally {
      second.closeGracefully();
    }
    assertThat(loggedWithKey("req-replay:1:0"))
        .extracting(ToolCallRecord::replayed)
        .containsExactly(false, true, true, false);

    // A failed call is not remembered: its retry runs the tool again.
    failure(call(client, "compute", Map.of("expression", "1 / 0"), "req-replay:2:0"));
    failure(call(client, "compute", Map.of("expression", "1 / 0"), "req-replay:2:0"));
    assertThat(loggedWithKey("req-replay:2:0"))
        .extracting(ToolCallRecord::replayed)
        .containsExactly(false, false);
  }

  @Test
  void theDrillToolsAreOffByDefault() {
    assertThatThrownBy(() -> call("drill_sleep", Map.of("reason", "off by default")))
        .isInstanceOf(McpError.class)
        .hasMessageContaining("Unknown tool");
  }

  private static Entity firstOfKind(String kind) {
    return corpus.entities().stream().filter(e -> e.kind().equals(kind)).findFirst().orElseThrow();
  }
}
