package dev.streamrag.gateway.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.gateway.Pieces;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ChatRequest;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import dev.streamrag.gateway.openai.RequestOrigin;
import dev.streamrag.schemas.ResponseStatus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The answer contract and OpenAI's format, one exchange at a time, without a network. */
class ExchangeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Pieces pieces = new Pieces("gw-1", "acme");
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final RecordingResponse response = new RecordingResponse();
  private final ExchangeRegistry registry = new ExchangeRegistry(10);
  private int closed;

  private Exchange exchange(boolean stream, boolean includeUsage) {
    ChatRequest chat =
        ChatRequestMapper.builder()
            .build()
            .map(
                "{\"model\":\"m\",\"stream\":"
                    + stream
                    + ",\"stream_options\":{\"include_usage\":"
                    + includeUsage
                    + "},\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
                new RequestOrigin(
                    "gw-1", "acme", System.currentTimeMillis(), "rag.pieces", 0, null))
            .request();
    Exchange exchange =
        new Exchange(chat, response, Runnable::run, metrics, System.nanoTime(), 1024);
    assertThat(registry.tryAdd(exchange)).isTrue();
    metrics.streamOpened();
    exchange.onClosed(
        () -> {
          closed++;
          registry.remove(exchange);
          metrics.streamClosed();
        });
    return exchange;
  }

  /** The data of each SSE event written, parsed; "[DONE]" as a text node. */
  private List<JsonNode> events() throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String block : response.written().split("\n\n")) {
      if (block.isEmpty()) {
        continue;
      }
      assertThat(block).startsWith("data: ");
      String data = block.substring("data: ".length());
      events.add(
          data.equals("[DONE]") ? JSON.getNodeFactory().textNode(data) : JSON.readTree(data));
    }
    return events;
  }

  private static String content(JsonNode chunk) {
    JsonNode delta = chunk.path("choices").path(0).path("delta");
    return delta.path("content").asText("");
  }

  @Test
  void streamsHeadDeltasEndAndUsageThenDone() throws Exception {
    Exchange exchange = exchange(true, true);
    exchange.deliver(pieces.head(1));
    assertThat(response.streamBegun).as("nothing is sent before text").isFalse();
    exchange.deliver(pieces.delta(1, 1, "Hello"));
    assertThat(response.streamBegun).isTrue();
    exchange.deliver(pieces.delta(1, 2, " world"));
    exchange.deliver(pieces.endOk(1, 3));

    List<JsonNode> events = events();
    assertThat(events).hasSize(6);
    assertThat(events.get(0).path("choices").path(0).path("delta").path("role").asText())
        .isEqualTo("assistant");
    assertThat(events.get(0).path("streamrag").path("citations")).hasSize(1);
    assertThat(content(events.get(1)) + content(events.get(2))).isEqualTo("Hello world");
    assertThat(events.get(3).path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("stop");
    assertThat(events.get(3).path("streamrag").path("status").asText()).isEqualTo("OK");
    assertThat(events.get(4).path("usage").path("completion_tokens").asInt()).isEqualTo(5);
    assertThat(events.get(5).asText()).isEqualTo("[DONE]");
    assertThat(response.ended).isTrue();
    assertThat(closed).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
    assertThat(registry.size()).isZero();
  }

  @Test
  void replaysGapsAndStalePiecesAreAppliedByTheContract() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(2));
    exchange.deliver(pieces.delta(2, 2, " world")); // ahead of a gap: held
    assertThat(response.streamBegun).isFalse();
    exchange.deliver(pieces.delta(1, 1, "stale")); // an older generation
    exchange.deliver(pieces.delta(2, 1, "Hello")); // fills the gap
    exchange.deliver(pieces.delta(2, 1, "Hello")); // a replay
    exchange.deliver(pieces.endOk(2, 3));
    String text = events().stream().map(ExchangeTest::content).reduce("", String::concat);
    assertThat(text).isEqualTo("Hello world");
    assertThat(response.written()).doesNotContain("stale").endsWith("data: [DONE]\n\n");
  }

  @Test
  void aRestartedGenerationThatAgreesIsInvisible() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Hello"));
    exchange.deliver(pieces.head(2));
    exchange.deliver(pieces.delta(2, 1, "Hello"));
    exchange.deliver(pieces.delta(2, 2, " again"));
    exchange.deliver(pieces.endOk(2, 3));
    assertThat(events().stream().map(ExchangeTest::content).reduce("", String::concat))
        .isEqualTo("Hello again");
    assertThat(response.written()).endsWith("data: [DONE]\n\n");
  }

  @Test
  void aDivergingGenerationEndsTheStreamWithAnErrorEvent() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Hello"));
    exchange.deliver(pieces.head(2));
    exchange.deliver(pieces.delta(2, 1, "Goodbye"));
    List<JsonNode> events = events();
    JsonNode last = events.get(events.size() - 1);
    assertThat(last.path("error").path("code").asText()).isEqualTo("answer_diverged");
    assertThat(response.written()).doesNotContain("[DONE]");
    assertThat(response.ended).isTrue();
    assertThat(closed).isEqualTo(1);
  }

  @Test
  void aFailedEndBeforeAnyTextIsAnHttpError() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(
        pieces.endFailed(1, 1, ResponseStatus.REJECTED, "validation.prompt_too_long", false));
    assertThat(response.streamBegun).isFalse();
    assertThat(response.status).isEqualTo(400);
    assertThat(JSON.readTree(response.body).path("error").path("code").asText())
        .isEqualTo("context_length_exceeded");
    assertThat(closed).isEqualTo(1);
  }

  @Test
  void aFailedEndAfterTextIsAnSseErrorEvent() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Partial"));
    exchange.deliver(pieces.endFailed(1, 2, ResponseStatus.ERROR, "llm.stream", false));
    List<JsonNode> events = events();
    assertThat(events.get(events.size() - 1).path("error").path("code").asText())
        .isEqualTo("llm.stream");
    assertThat(response.status).isEqualTo(200);
    assertThat(response.ended).isTrue();
  }

  @Test
  void anOkEndWithoutTextStillStreams() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.endOk(1, 1));
    assertThat(events()).hasSize(3);
    assertThat(response.status).isEqualTo(200);
  }

  @Test
  void deadlineBeforeTextIs504AfterTextAnErrorEvent() throws Exception {
    Exchange before = exchange(true, false);
    before.onDeadline();
    assertThat(response.status).isEqualTo(504);
    assertThat(closed).isEqualTo(1);

    RecordingResponse second = new RecordingResponse();
    ChatRequest chat = before.chat();
    Exchange after = new Exchange(chat, second, Runnable::run, metrics, System.nanoTime(), 1024);
    after.deliver(
        pieces.delta(1, 0, "")); // seq 0 must be the HEAD; an empty DELTA releases nothing
    after.deliver(pieces.delta(1, 1, "Some"));
    after.onDeadline();
    assertThat(second.written()).contains("\"code\":\"timeout\"").doesNotContain("[DONE]");
    assertThat(second.ended).isTrue();
  }

  @Test
  void wholeAnswerIsOneJsonObject() throws Exception {
    Exchange exchange = exchange(false, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "The "));
    exchange.deliver(pieces.delta(1, 2, "answer."));
    assertThat(response.ended).isFalse();
    exchange.deliver(pieces.endOk(1, 3));
    assertThat(response.status).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body);
    assertThat(body.path("object").asText()).isEqualTo("chat.completion");
    assertThat(body.path("choices").path(0).path("message").path("content").asText())
        .isEqualTo("The answer.");
    assertThat(body.path("streamrag").path("citations")).hasSize(1);
    assertThat(closed).isEqualTo(1);
  }

  @Test
  void wholeAnswerTakesTheTextOfTheGenerationWhoseEndArrived() throws Exception {
    Exchange exchange = exchange(false, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "First try"));
    exchange.deliver(pieces.head(2));
    exchange.deliver(pieces.delta(2, 1, "Second try"));
    exchange.deliver(pieces.delta(1, 2, " stale"));
    exchange.deliver(pieces.endOk(2, 2));
    assertThat(
            JSON.readTree(response.body)
                .path("choices")
                .path(0)
                .path("message")
                .path("content")
                .asText())
        .isEqualTo("Second try");
  }

  @Test
  void wholeAnswerRejectedIsAnHttpError() {
    Exchange exchange = exchange(false, false);
    exchange.deliver(
        pieces.endFailed(1, 0, ResponseStatus.REJECTED, "validation.unknown_model", false));
    assertThat(response.status).isEqualTo(404);
  }

  @Test
  void aSlowClientIsCutOffAndItsExchangeClosed() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    response.full = true;
    for (int seq = 2; seq < 50 && !response.aborted; seq++) {
      exchange.deliver(pieces.delta(1, seq, "y".repeat(100)));
    }
    assertThat(response.aborted).isTrue();
    assertThat(closed).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
    assertThat(metrics.render())
        .contains("streamrag_gateway_failed_answers_total{reason=\"slow_client\"} 1.0");
  }

  @Test
  void aClientThatLeavesClosesTheExchangeOnceAndLaterPiecesAreIgnored() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    exchange.onClientClosed();
    exchange.onClientClosed();
    int writes = response.writes.size();
    exchange.deliver(pieces.delta(1, 2, "y"));
    exchange.onDeadline();
    assertThat(response.writes).hasSize(writes);
    assertThat(closed).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
  }

  @Test
  void aFailedSendIs503() {
    Exchange exchange = exchange(true, false);
    exchange.onSendFailed("broker gone");
    assertThat(response.status).isEqualTo(503);
    assertThat(response.body).contains("broker gone");
    assertThat(closed).isEqualTo(1);
  }
}
