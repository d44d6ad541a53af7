package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.ToolCall;
import dev.streamrag.testsupport.LlmSimServer;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tools offered through the streaming client, against real llm-sim: the streamed tool call is
 * assembled from its deltas (name, then argument text), and the conversation goes on with the
 * assistant's tool call and the tool's result sent back, as OpenAI's API has them.
 */
@Timeout(60)
class ToolCallStreamingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ToolDefinition WEATHER =
      new ToolDefinition(
          "weather_forecast",
          "The weather forecast for a city",
          "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
              + "\"required\":[\"city\"]}");

  @TempDir static Path dir;
  private static LlmSimServer llm;
  private static StreamingChatClient client;

  @BeforeAll
  static void start() throws Exception {
    llm = LlmSimServer.start(dir, "qwen2.5-0.5b-l4", "m", null);
    client = StreamingChatClient.builder().build();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (llm != null) {
      llm.close();
    }
  }

  @Test
  void aStreamedToolCallIsAssembledAndItsResultAnswered() throws Exception {
    List<ChatMessage> messages = new ArrayList<>();
    messages.add(
        new ChatMessage(
            ChatRole.USER, "What is the weather forecast for Oslo?", null, null, List.of()));
    ChatCompletion first = ask(messages);

    assertThat(first.finishReason()).isEqualTo("tool_calls");
    assertThat(first.toolCalls()).hasSize(1);
    ToolCall call = first.toolCalls().get(0);
    assertThat(call.getName()).isEqualTo("weather_forecast");
    assertThat(call.getId()).isNotBlank();
    JsonNode arguments = JSON.readTree(call.getArguments());
    assertThat(arguments.path("city").asText()).contains("Oslo");

    messages.add(new ChatMessage(ChatRole.ASSISTANT, "", null, null, List.of(call)));
    messages.add(
        new ChatMessage(ChatRole.TOOL, "Oslo: rain, 4 degrees", null, call.getId(), List.of()));
    ChatCompletion second = ask(messages);

    assertThat(second.finishReason()).isIn("stop", "length");
    assertThat(second.toolCalls()).isEmpty();
    assertThat(second.text()).isNotBlank();
  }

  @Test
  void withoutToolsTheBodyOffersNone() throws Exception {
    JsonNode body =
        JSON.readTree(
            StreamingChatClient.body(
                new ChatCall(
                    "m",
                    List.of(new ChatMessage(ChatRole.USER, "hi", null, null, List.of())),
                    8,
                    null,
                    null,
                    null,
                    List.of())));
    assertThat(body.has("tools")).isFalse();
    assertThat(body.path("messages").get(0).has("tool_calls")).isFalse();
  }

  private static ChatCompletion ask(List<ChatMessage> messages) throws Exception {
    return client.stream(
            URI.create(llm.baseUrl()),
            new ChatCall("m", messages, 64, 0.0, null, null, List.of(), false, List.of(WEATHER)))
        .get(30, TimeUnit.SECONDS);
  }
}
