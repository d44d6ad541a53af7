package dev.streamrag.gateway.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.gateway.Pieces;
import dev.streamrag.schemas.AnswerPiece;
import org.junit.jupiter.api.Test;

class ChatCompletionFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Pieces pieces = new Pieces("gw-1", "acme");
  private final ChatCompletionFormat format =
      new ChatCompletionFormat("gw-1", 1_700_000_000_123L, "asked-model", false);

  private static JsonNode event(String event) throws Exception {
    assertThat(event).startsWith("data: ").endsWith("\n\n");
    return JSON.readTree(event.substring("data: ".length()));
  }

  @Test
  void roleChunkOpensTheStreamWithTheHeadsExtension() throws Exception {
    AnswerPiece head = pieces.head(1);
    format.answeredBy(head);
    JsonNode chunk = event(format.roleChunk(head));
    assertThat(chunk.get("id").asText()).isEqualTo("chatcmpl-gw-1");
    assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(chunk.get("created").asLong()).isEqualTo(1_700_000_000L);
    assertThat(chunk.get("model").asText()).isEqualTo("sim-model");
    JsonNode choice = chunk.get("choices").get(0);
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("delta").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("delta").get("content").asText()).isEmpty();
    assertThat(choice.get("finish_reason").isNull()).isTrue();
    JsonNode extension = chunk.get("streamrag");
    assertThat(extension.get("request_id").asText()).isEqualTo("gw-1");
    assertThat(extension.get("kind").asText()).isEqualTo("RAG");
    assertThat(extension.get("cache_hit").asText()).isEqualTo("NONE");
    assertThat(extension.get("citations").get(0).get("doc_id").asText()).isEqualTo("doc-1");
    assertThat(extension.get("citations").get(0).get("chunk_id").asText()).isEqualTo("doc-1#0");
    assertThat(extension.get("citations").get(0).get("score").asDouble()).isEqualTo(0.9);
    assertThat(extension.get("citations").get(0).get("title").asText()).isEqualTo("Zorblax");
  }

  @Test
  void modelIsTheRequestedOneUntilAHeadNamesAnother() throws Exception {
    assertThat(event(format.contentChunk("x")).get("model").asText()).isEqualTo("asked-model");
    format.answeredBy(pieces.head(1));
    assertThat(event(format.contentChunk("x")).get("model").asText()).isEqualTo("sim-model");
  }

  @Test
  void contentChunksEscapeTheirText() throws Exception {
    String text = "line \"one\"\n\ttab \\ é 🚀 </script>";
    JsonNode chunk = event(format.contentChunk(text));
    assertThat(chunk.get("choices").get(0).get("delta").get("content").asText()).isEqualTo(text);
    assertThat(chunk.get("choices").get(0).get("delta").has("role")).isFalse();
    assertThat(chunk.get("choices").get(0).get("finish_reason").isNull()).isTrue();
    // Twice, so the cached prefix and suffix are exercised.
    assertThat(
            event(format.contentChunk("b"))
                .get("choices")
                .get(0)
                .get("delta")
                .get("content")
                .asText())
        .isEqualTo("b");
  }

  @Test
  void finishAndUsageChunksCarryTheEnd() throws Exception {
    AnswerPiece end = pieces.endOk(1, 3);
    JsonNode finish = event(format.finishChunk(end));
    JsonNode choice = finish.get("choices").get(0);
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(choice.get("delta").isEmpty()).isTrue();
    JsonNode extension = finish.get("streamrag");
    assertThat(extension.get("status").asText()).isEqualTo("OK");
    assertThat(extension.get("timings").get("queue_ms").asDouble()).isEqualTo(1.5);
    assertThat(extension.get("timings").get("total_ms").asDouble()).isEqualTo(25.0);
    assertThat(extension.get("timings").has("embed_ms")).as("null stages left out").isFalse();
    assertThat(extension.get("degraded")).as("nothing degraded").isEmpty();
    end.setDegraded(java.util.List.of("retrieval.unavailable"));
    assertThat(event(format.finishChunk(end)).get("streamrag").get("degraded").get(0).asText())
        .isEqualTo("retrieval.unavailable");

    JsonNode usage = event(format.usageChunk(end));
    assertThat(usage.get("choices").isEmpty()).isTrue();
    assertThat(usage.get("usage").get("prompt_tokens").asInt()).isEqualTo(12);
    assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(5);
    assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(17);
    assertThat(usage.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt())
        .isEqualTo(4);
  }

  @Test
  void wholeCompletion() {
    AnswerPiece head = pieces.head(1);
    format.answeredBy(head);
    JsonNode completion = format.completion("The answer.", head, pieces.endOk(1, 2));
    assertThat(completion.get("id").asText()).isEqualTo("chatcmpl-gw-1");
    assertThat(completion.get("object").asText()).isEqualTo("chat.completion");
    JsonNode choice = completion.get("choices").get(0);
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo("The answer.");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(completion.get("usage").get("total_tokens").asInt()).isEqualTo(17);
    JsonNode extension = completion.get("streamrag");
    assertThat(extension.get("citations")).hasSize(1);
    assertThat(extension.get("status").asText()).isEqualTo("OK");
    assertThat(extension.get("timings").get("llm_ms").asDouble()).isEqualTo(20.0);
  }

  @Test
  void usageIsZeroWithoutAnLlmCallAndFinishReasonDefaultsToStop() {
    AnswerPiece end = pieces.endOk(1, 2);
    end.setUsage(null);
    end.setFinishReason(null);
    JsonNode completion = format.completion("cached", null, end);
    assertThat(completion.get("usage").get("total_tokens").asInt()).isZero();
    assertThat(completion.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    assertThat(completion.get("streamrag").has("citations")).isFalse();
  }

  @Test
  void withIncludeUsageEveryChunkBeforeTheUsageChunkHasUsageNull() throws Exception {
    ChatCompletionFormat withUsage =
        new ChatCompletionFormat("gw-1", 1_700_000_000_123L, "asked-model", true);
    AnswerPiece head = pieces.head(1);
    AnswerPiece end = pieces.endOk(1, 2);
    for (String event :
        new String[] {
          withUsage.roleChunk(head),
          withUsage.contentChunk("a"),
          withUsage.contentChunk("b"),
          withUsage.finishChunk(end)
        }) {
      JsonNode chunk = event(event);
      assertThat(chunk.has("usage")).isTrue();
      assertThat(chunk.get("usage").isNull()).isTrue();
    }
    assertThat(event(withUsage.usageChunk(end)).get("usage").get("total_tokens").asInt())
        .isEqualTo(17);
    assertThat(event(format.contentChunk("a")).has("usage")).isFalse();
  }

  @Test
  void errorEventIsOpenAisErrorObject() throws Exception {
    JsonNode event = event(ChatCompletionFormat.errorEvent(ApiError.deadlineExceeded(1000)));
    assertThat(event.get("error").get("type").asText()).isEqualTo("server_error");
    assertThat(event.get("error").get("code").asText()).isEqualTo("timeout");
    assertThat(event.get("error").get("param").isNull()).isTrue();
    assertThat(ChatCompletionFormat.DONE).isEqualTo("data: [DONE]\n\n");
  }
}
