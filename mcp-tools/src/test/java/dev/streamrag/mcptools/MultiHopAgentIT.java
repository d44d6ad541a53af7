package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.testsupport.LlmSimServer;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.TextContent;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's multi-hop questions answered by a small agent loop in this test, with the real parts
 * around it: llm-sim (a server process) plays the tool-using model by its documented plan, and this
 * module's MCP server runs the tools, called through the SDK's client. A preview of the inference
 * job's loop (issue 19), and the check of the target: at least 95% answered correctly.
 */
@Timeout(180)
class MultiHopAgentIT {
  private static final long SEED = 42;
  private static final int DOCUMENTS = 200;
  private static final List<String> TENANTS = List.of("acme", "globex");
  private static final String MODEL = "m";
  private static final int MAX_STEPS = 8;

  @Test
  void theDemosMultiHopQuestionsAreAnsweredByTheirToolCalls(@TempDir Path dir) throws Exception {
    List<MultiHopQuestion> questions =
        DemoCorpus.generate(SEED, DOCUMENTS, TENANTS).multiHopQuestions();
    try (McpToolsServer tools =
            McpToolsServer.builder()
                .port(0)
                .corpusSeed(SEED)
                .corpusDocuments(DOCUMENTS)
                .tenants(TENANTS)
                .start();
        LlmSimServer llm = LlmSimServer.start(dir, "qwen2.5-0.5b-l4", MODEL, null)) {
      McpSyncClient mcp =
          McpClient.sync(
                  HttpClientStreamableHttpTransport.builder(tools.baseUrl())
                      .endpoint(McpToolsServer.ENDPOINT_PATH)
                      .build())
              .requestTimeout(Duration.ofSeconds(10))
              .build();
      try {
        mcp.initialize();
        List<Map<String, Object>> offered = new ArrayList<>();
        for (Tool tool : mcp.listTools().tools()) {
          offered.add(
              Map.of(
                  "type",
                  "function",
                  "function",
                  Map.of(
                      "name", tool.name(),
                      "description", tool.description(),
                      "parameters", tool.inputSchema())));
        }
        HttpClient http = HttpClient.newHttpClient();
        int correct = 0;
        int steps = 0;
        List<String> wrong = new ArrayList<>();
        for (MultiHopQuestion question : questions) {
          Answer answer = run(http, llm.baseUrl(), mcp, offered, question.question());
          steps += answer.toolCalls();
          if (answer.text().contains(question.answer())) {
            correct++;
          } else {
            wrong.add(
                question.question()
                    + " -> "
                    + answer.text()
                    + " (truth "
                    + question.answer()
                    + ")");
          }
        }
        System.out.printf(
            "multi-hop: %d of %d correct, %.2f tool calls per question; wrong: %s%n",
            correct,
            questions.size(),
            (double) steps / questions.size(),
            wrong.subList(0, Math.min(5, wrong.size())));
        assertThat(questions).hasSizeGreaterThanOrEqualTo(80);
        assertThat((double) correct / questions.size())
            .as("correct answers; wrong: %s", wrong.subList(0, Math.min(5, wrong.size())))
            .isGreaterThanOrEqualTo(0.95);
        assertThat((double) steps / questions.size()).as("tool calls per question").isEqualTo(3.0);
      } finally {
        mcp.closeGracefully();
      }
    }
  }

  /** The final text and how many tools were called to get there. */
  record Answer(String text, int toolCalls) {}

  @SuppressWarnings("unchecked")
  private static Answer run(
      HttpClient http,
      String llm,
      McpSyncClient mcp,
      List<Map<String, Object>> offered,
      String question)
      throws Exception {
    List<Map<String, Object>> messages = new ArrayList<>();
    messages.add(Map.of("role", "user", "content", question));
    int calls = 0;
    for (int step = 0; step < MAX_STEPS; step++) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("model", MODEL);
      body.put("messages", messages);
      body.put("tools", offered);
      body.put("max_tokens", 64);
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(llm + "/v1/chat/completions"))
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          McpJsonDefaults.getMapper().writeValueAsString(body)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      Map<String, Object> choice =
          ((List<Map<String, Object>>)
                  McpJsonDefaults.getMapper()
                      .readValue(response.body(), new TypeRef<Map<String, Object>>() {})
                      .get("choices"))
              .get(0);
      Map<String, Object> message = (Map<String, Object>) choice.get("message");
      if (!"tool_calls".equals(choice.get("finish_reason"))) {
        return new Answer(String.valueOf(message.get("content")), calls);
      }
      messages.add(message);
      for (Map<String, Object> call : (List<Map<String, Object>>) message.get("tool_calls")) {
        Map<String, Object> function = (Map<String, Object>) call.get("function");
        Map<String, Object> arguments =
            McpJsonDefaults.getMapper()
                .readValue(
                    (String) function.get("arguments"), new TypeRef<Map<String, Object>>() {});
        CallToolResult result =
            mcp.callTool(
                CallToolRequest.builder((String) function.get("name"))
                    .arguments(arguments)
                    .build());
        calls++;
        messages.add(
            Map.of(
                "role",
                "tool",
                "tool_call_id",
                call.get("id"),
                "content",
                ((TextContent) result.content().get(0)).text()));
      }
    }
    return new Answer("(no answer after " + MAX_STEPS + " steps)", calls);
  }
}
