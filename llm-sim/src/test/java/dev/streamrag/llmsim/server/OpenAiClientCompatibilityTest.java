package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.streamrag.llmsim.engine.EngineProfile;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The official openai-java client talks to llm-sim as it would to vLLM. */
@Timeout(60)
class OpenAiClientCompatibilityTest {
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);
  private static final String QUESTION =
      "[doc-1] Zorblax Industries was founded by Mira Okonkwo in 1987."
          + " [doc-2] The Quillon River is 412 km long.\nHow long is the Quillon River?";

  private static SimServer server;
  private static OpenAIClient client;

  @BeforeAll
  static void start() {
    server =
        SimServer.builder(FAST, "sim-model").maxBodyBytes(1 << 20).adminEndpoints(true).start();
    client =
        OpenAIOkHttpClient.builder()
            .baseUrl(server.baseUrl())
            .apiKey("not-needed")
            .maxRetries(0)
            .build();
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  private static ChatCompletionCreateParams.Builder chat(String model) {
    return ChatCompletionCreateParams.builder()
        .model(model)
        .addSystemMessage("Answer from the context.")
        .addUserMessage(QUESTION)
        .maxCompletionTokens(64);
  }

  @Test
  void nonStreamingChat() {
    ChatCompletion completion = client.chat().completions().create(chat("sim-model").build());
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().get(0).message().content())
        .hasValueSatisfying(text -> assertThat(text).contains("412 km"));
    assertThat(completion.choices().get(0).finishReason())
        .isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(completion.usage())
        .hasValueSatisfying(usage -> assertThat(usage.completionTokens()).isPositive());
  }

  @Test
  void streamingChatWithUsage() {
    List<String> deltas = new ArrayList<>();
    long[] usageTokens = {-1};
    try (StreamResponse<ChatCompletionChunk> stream =
        client
            .chat()
            .completions()
            .createStreaming(
                chat("sim-model")
                    .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                    .build())) {
      stream.stream()
          .forEach(
              chunk -> {
                chunk.choices().forEach(choice -> choice.delta().content().ifPresent(deltas::add));
                chunk.usage().ifPresent(usage -> usageTokens[0] = usage.completionTokens());
              });
    }
    String text = String.join("", deltas);
    assertThat(text).contains("The Quillon River is 412 km long.");
    assertThat(usageTokens[0]).isEqualTo(deltas.stream().filter(d -> !d.isEmpty()).count());
  }

  @Test
  void textCompletion() {
    Completion completion =
        client
            .completions()
            .create(
                CompletionCreateParams.builder()
                    .model(CompletionCreateParams.Model.of("sim-model"))
                    .prompt(QUESTION)
                    .maxTokens(32)
                    .build());
    assertThat(completion.choices().get(0).text()).contains("412 km");
  }

  @Test
  void errorsMapToTheClientsExceptionTypes() throws Exception {
    assertThatThrownBy(() -> client.chat().completions().create(chat("gpt-9").build()))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("does not exist");
    assertThatThrownBy(
            () ->
                client
                    .chat()
                    .completions()
                    .create(chat("sim-model").maxCompletionTokens(5000).build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("maximum context length");

    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI faults =
        java.net.URI.create("http://127.0.0.1:" + server.port() + "/admin/faults");
    try {
      http.send(
          java.net.http.HttpRequest.newBuilder(faults)
              .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"rate429\":1}"))
              .build(),
          java.net.http.HttpResponse.BodyHandlers.discarding());
      assertThatThrownBy(() -> client.chat().completions().create(chat("sim-model").build()))
          .isInstanceOf(RateLimitException.class);
      http.send(
          java.net.http.HttpRequest.newBuilder(faults)
              .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"rate503\":1}"))
              .build(),
          java.net.http.HttpResponse.BodyHandlers.discarding());
      assertThatThrownBy(() -> client.chat().completions().create(chat("sim-model").build()))
          .isInstanceOf(InternalServerException.class);
    } finally {
      http.send(
          java.net.http.HttpRequest.newBuilder(faults).DELETE().build(),
          java.net.http.HttpResponse.BodyHandlers.discarding());
    }
  }

  private static final ChatCompletionFunctionTool WEATHER =
      ChatCompletionFunctionTool.builder()
          .function(
              FunctionDefinition.builder()
                  .name("get_weather")
                  .description("Current weather for a city")
                  .parameters(
                      FunctionParameters.builder()
                          .putAdditionalProperty("type", JsonValue.from("object"))
                          .putAdditionalProperty(
                              "properties",
                              JsonValue.from(Map.of("city", Map.of("type", "string"))))
                          .build())
                  .build())
          .build();

  private static ChatCompletionCreateParams.Builder weatherQuestion() {
    return ChatCompletionCreateParams.builder()
        .model("sim-model")
        .addUserMessage("What is the weather in Paris?")
        .addTool(WEATHER);
  }

  @Test
  void toolCallThenToolResultRoundTrip() {
    ChatCompletion first = client.chat().completions().create(weatherQuestion().build());
    ChatCompletion.Choice choice = first.choices().get(0);
    assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    ChatCompletionMessage message = choice.message();
    ChatCompletionMessageFunctionToolCall call =
        message.toolCalls().orElseThrow().get(0).asFunction();
    assertThat(call.function().name()).isEqualTo("get_weather");
    assertThat(call.function().arguments()).contains("\"city\"");

    // The agent loop: send the call back with the tool's result; the model answers from it.
    ChatCompletion second =
        client
            .chat()
            .completions()
            .create(
                weatherQuestion()
                    .addMessage(message)
                    .addMessage(
                        ChatCompletionToolMessageParam.builder()
                            .toolCallId(call.id())
                            .content("Paris weather: sunny, 21 C.")
                            .build())
                    .build());
    assertThat(second.choices().get(0).finishReason())
        .isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(second.choices().get(0).message().content())
        .hasValueSatisfying(text -> assertThat(text).contains("sunny, 21 C"));
  }

  @Test
  void streamedToolCallArgumentsAddUpToTheCall() {
    StringBuilder arguments = new StringBuilder();
    List<String> names = new ArrayList<>();
    List<ChatCompletionChunk.Choice.FinishReason> finishes = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream =
        client.chat().completions().createStreaming(weatherQuestion().build())) {
      stream.stream()
          .flatMap(chunk -> chunk.choices().stream())
          .forEach(
              choice -> {
                choice.finishReason().ifPresent(finishes::add);
                choice.delta().toolCalls().stream()
                    .flatMap(List::stream)
                    .flatMap(call -> call.function().stream())
                    .forEach(
                        function -> {
                          function.name().ifPresent(names::add);
                          function.arguments().ifPresent(arguments::append);
                        });
              });
    }
    assertThat(names).containsExactly("get_weather");
    assertThat(finishes).containsExactly(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS);
    assertThat(arguments.toString()).startsWith("{").endsWith("}").contains("Paris");
  }
}
