package dev.streamrag.gateway.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.gateway.Pieces;
import dev.streamrag.gateway.kafka.SendResult;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.metrics.GatewayMetrics.AnswerFailure;
import dev.streamrag.gateway.openai.ApiError.Retry;
import dev.streamrag.gateway.openai.ChatRequest;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import dev.streamrag.gateway.openai.RequestOrigin;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.ResponseStatus;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

/** The answer contract and OpenAI's format, one exchange at a time, without a network. */
class ExchangeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long KEEP_ALIVE = 1000;
  private static final long DRAIN = 2000;
  private static final Exchange.Settings SETTINGS =
      new Exchange.Settings(500, KEEP_ALIVE, DRAIN, 1024);

  private final Pieces pieces = new Pieces("gw-1", "acme");
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final RecordingResponse response = new RecordingResponse();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final ExchangeRegistry registry = new ExchangeRegistry(10);
  private int released;

  private static ChatRequest chat(boolean stream, boolean includeUsage) {
    String options = stream ? ",\"stream_options\":{\"include_usage\":" + includeUsage + "}" : "";
    return ChatRequestMapper.builder()
        .build()
        .map(
            "{\"model\":\"m\",\"stream\":"
                + stream
                + options
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
            new RequestOrigin("gw-1", "acme", System.currentTimeMillis(), "rag.pieces", 0, null))
        .request();
  }

  private Exchange exchange(boolean stream, boolean includeUsage) {
    Exchange exchange =
        new Exchange(
            chat(stream, includeUsage),
            response,
            Runnable::run,
            scheduler,
            metrics,
            System.nanoTime(),
            SETTINGS);
    assertThat(registry.tryAdd(exchange)).isTrue();
    metrics.streamOpened();
    exchange.onReleased(
        () -> {
          released++;
          registry.remove(exchange);
          metrics.streamClosed();
        });
    exchange.start();
    return exchange;
  }

  /** The data of each SSE event written, parsed; "[DONE]" as a text node; comments skipped. */
  private List<JsonNode> events() throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String block : response.written().split("\n\n")) {
      if (block.isEmpty() || block.startsWith(":")) {
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

  private String text() throws Exception {
    return events().stream().map(ExchangeTest::content).reduce("", String::concat);
  }

  private double failed(AnswerFailure reason) {
    return metrics.failedAnswers(reason);
  }

  private double failedInAll() {
    double sum = 0;
    for (AnswerFailure reason : AnswerFailure.values()) {
      sum += metrics.failedAnswers(reason);
    }
    return sum;
  }

  private void deadlinePasses() {
    assertThat(scheduler.run(d -> d > DRAIN)).as("the deadline timer ran").isEqualTo(1);
  }

  private static AnswerPiece failedEnd(ResponseStatus status, String code, String message) {
    AnswerPiece end = new Pieces("gw-1", "acme").endFailed(1, 0, status, code, false);
    end.setError(
        ErrorDetail.newBuilder(end.getError()).setMessage(message).setRetryable(false).build());
    return end;
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
    for (JsonNode before : events.subList(0, 4)) {
      assertThat(before.has("usage"))
          .as("usage is present, as null, before the usage chunk")
          .isTrue();
      assertThat(before.get("usage").isNull()).isTrue();
    }
    assertThat(events.get(4).path("usage").path("completion_tokens").asInt()).isEqualTo(5);
    assertThat(events.get(5).asText()).isEqualTo("[DONE]");
    assertThat(response.ended).isTrue();
    assertThat(released).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
    assertThat(registry.size()).isZero();
    assertThat(failedInAll()).as("an answer is not a failure").isZero();
    assertThat(scheduler.pending()).as("timers cancelled").isZero();
  }

  @Test
  void withoutIncludeUsageChunksHaveNoUsageField() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Hi"));
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(events().subList(0, 3)).allSatisfy(e -> assertThat(e.has("usage")).isFalse());
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
    assertThat(text()).isEqualTo("Hello world");
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
    assertThat(text()).isEqualTo("Hello again");
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
    assertThat(released).isEqualTo(1);
    assertThat(failed(AnswerFailure.DIVERGED)).isEqualTo(1);
  }

  @Test
  void aFailedEndBeforeAnyTextIsAnHttpError() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(
        pieces.endFailed(1, 1, ResponseStatus.REJECTED, "validation.prompt_too_long", false));
    assertThat(response.streamBegun).isFalse();
    assertThat(response.status).isEqualTo(400);
    JsonNode error = JSON.readTree(response.body).path("error");
    assertThat(error.path("code").asText()).isEqualTo("context_length_exceeded");
    assertThat(error.path("message").asText())
        .as("a rejection's message is written for clients")
        .isEqualTo("job says validation.prompt_too_long");
    assertThat(released).isEqualTo(1);
    assertThat(failed(AnswerFailure.JOB_REJECTED)).isEqualTo(1);
  }

  @Test
  void aFailedEndAfterTextIsAnSseErrorEventWithoutTheJobsMessage() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Partial"));
    AnswerPiece end =
        failedEnd(ResponseStatus.ERROR, "llm.stream", "java.io.IOException: upstream said <html>");
    end.setGeneration(1);
    end.setSeq(2);
    exchange.deliver(end);
    List<JsonNode> events = events();
    JsonNode error = events.get(events.size() - 1).path("error");
    assertThat(error.path("code").asText()).isEqualTo("llm.stream");
    assertThat(error.path("message").asText())
        .isEqualTo("The language model failed to answer this request.");
    assertThat(response.written()).doesNotContain("IOException").doesNotContain("<html>");
    assertThat(response.status).isEqualTo(200);
    assertThat(response.ended).isTrue();
    assertThat(failed(AnswerFailure.JOB_ERROR)).isEqualTo(1);
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
  void deadlineBeforeTextIs504ThatSaysDoNotRetry() {
    exchange(true, false);
    deadlinePasses();
    assertThat(response.status).isEqualTo(504);
    assertThat(response.error.retry()).isEqualTo(Retry.NEVER);
    assertThat(released).isEqualTo(1);
    assertThat(failed(AnswerFailure.DEADLINE)).isEqualTo(1);
  }

  @Test
  void deadlineAfterTextIsAnErrorEvent() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(
        pieces.delta(1, 0, "")); // seq 0 must be the HEAD; an empty one releases nothing
    exchange.deliver(pieces.delta(1, 1, "Some"));
    deadlinePasses();
    assertThat(response.written()).contains("\"code\":\"timeout\"").doesNotContain("[DONE]");
    assertThat(response.ended).isTrue();
    assertThat(failed(AnswerFailure.DEADLINE)).isEqualTo(1);
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
    assertThat(released).isEqualTo(1);
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
  void wholeAnswerTimeoutIs504WithoutTheJobsMessage() {
    Exchange timedOut = exchange(false, false);
    timedOut.deliver(
        failedEnd(ResponseStatus.TIMEOUT, "llm.timeout", "read timed out at 10.0.0.7"));
    assertThat(response.status).isEqualTo(504);
    assertThat(response.error.retry()).isEqualTo(Retry.NEVER);
    assertThat(response.error.code()).isEqualTo("llm.timeout");
    assertThat(response.body).doesNotContain("10.0.0.7");
  }

  @Test
  void aSlowClientIsCutOffAndItsExchangeReleased() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    response.full = true;
    for (int seq = 2; seq < 50 && !response.aborted; seq++) {
      exchange.deliver(pieces.delta(1, seq, "y".repeat(100)));
    }
    assertThat(response.aborted).isTrue();
    assertThat(released).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
    assertThat(failed(AnswerFailure.SLOW_CLIENT)).isEqualTo(1);
  }

  @Test
  void aClientThatStopsReadingAfterTheEndHoldsItsSlotUntilTheDrainTimeout() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    response.full = true; // the client stopped reading
    exchange.deliver(pieces.delta(1, 2, "y"));
    exchange.deliver(pieces.endOk(1, 3));
    assertThat(response.ended).as("the end waits behind what the client has not read").isFalse();
    assertThat(released).isZero();
    assertThat(registry.size()).as("still counted against --max-streams").isEqualTo(1);

    assertThat(scheduler.run(DRAIN)).isEqualTo(1);
    assertThat(response.aborted).isTrue();
    assertThat(released).isEqualTo(1);
    assertThat(registry.size()).isZero();
    assertThat(failed(AnswerFailure.SLOW_CLIENT)).isEqualTo(1);
  }

  @Test
  void aClientThatCatchesUpAfterTheEndReleasesTheExchangeWhenDrained() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    response.full = true;
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(released).isZero();
    response.full = false;
    response.drain();
    assertThat(response.ended).isTrue();
    assertThat(response.written()).endsWith("data: [DONE]\n\n");
    assertThat(released).isEqualTo(1);
    assertThat(scheduler.run(DRAIN)).as("the drain timer was cancelled").isZero();
    assertThat(failedInAll()).isZero();
  }

  @Test
  void aClientThatLeavesReleasesTheExchangeOnceAndLaterEventsAreIgnored() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    exchange.onClientClosed();
    exchange.onClientClosed();
    int writes = response.writes.size();
    exchange.deliver(pieces.delta(1, 2, "y"));
    exchange.onDeadline();
    exchange.onSendResult(SendResult.SENT);
    assertThat(response.writes).hasSize(writes);
    assertThat(released).isEqualTo(1);
    assertThat(metrics.openStreams()).isZero();
    assertThat(failedInAll()).as("counted once").isEqualTo(1);
    assertThat(failed(AnswerFailure.CLIENT_GONE)).isEqualTo(1);
  }

  @Test
  void aRefusedSendIs503WithAFixedMessage() throws Exception {
    exchange(true, false);
    exchangeSendResult(
        new SendResult(
            SendResult.Outcome.REFUSED,
            new NotLeaderOrFollowerException("broker 10.1.2.3:9092, rag.requests-7"),
            true));
    assertThat(response.status).isEqualTo(503);
    assertThat(response.error.retry()).isEqualTo(Retry.SOON);
    assertThat(JSON.readTree(response.body).path("error").path("message").asText())
        .isEqualTo("The request could not be queued.");
    assertThat(response.body).doesNotContain("10.1.2.3").doesNotContain("rag.requests");
    assertThat(released).isEqualTo(1);
    assertThat(failed(AnswerFailure.SEND_FAILED)).isEqualTo(1);
  }

  @Test
  void aDefinitelyRefusedSendThatWouldFailAgainSaysDoNotRetry() {
    exchange(false, false);
    exchangeSendResult(
        new SendResult(
            SendResult.Outcome.REFUSED, new TopicAuthorizationException("rag.requests"), false));
    assertThat(response.status).isEqualTo(503);
    assertThat(response.error.retry()).isEqualTo(Retry.NEVER);
  }

  private void exchangeSendResult(SendResult result) {
    registry.snapshot().forEach(e -> e.onSendResult(result));
  }

  @Test
  void aSendFailureAfterTheStreamStartedIsIgnored() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Hello"));
    exchange.onSendResult(
        new SendResult(SendResult.Outcome.REFUSED, new TimeoutException("late"), true));
    assertThat(response.status).isEqualTo(200);
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(text()).isEqualTo("Hello");
    assertThat(response.written()).endsWith("data: [DONE]\n\n").doesNotContain("error");
    assertThat(failedInAll()).isZero();
  }

  @Test
  void aSendFailureAfterAPieceOfAWholeAnswerArrivedIsIgnored() {
    Exchange exchange = exchange(false, false);
    exchange.deliver(pieces.head(1));
    exchange.onSendResult(
        new SendResult(SendResult.Outcome.REFUSED, new TimeoutException("late"), true));
    assertThat(response.status).isZero();
    exchange.deliver(pieces.delta(1, 1, "ok"));
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(response.status).isEqualTo(200);
  }

  @Test
  void anUncertainSendKeepsWaitingForTheAnswer() {
    Exchange exchange = exchange(false, false);
    exchange.onSendResult(
        new SendResult(SendResult.Outcome.UNCERTAIN, new TimeoutException("expired"), true));
    assertThat(response.status).as("the record may be stored: no answer yet").isZero();
    assertThat(released).isZero();
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "stored after all"));
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(response.status).isEqualTo(200);
  }

  @Test
  void anUncertainSendWithoutAnswerEndsAtTheDeadline() {
    Exchange exchange = exchange(false, false);
    exchange.onSendResult(
        new SendResult(SendResult.Outcome.UNCERTAIN, new TimeoutException("expired"), true));
    deadlinePasses();
    assertThat(response.status).isEqualTo(504);
    assertThat(failed(AnswerFailure.DEADLINE)).isEqualTo(1);
  }

  @Test
  void aWaitingStreamBeginsAndGetsKeepAlivesThenFailuresAreInBand() throws Exception {
    Exchange exchange = exchange(true, false);
    assertThat(scheduler.run(KEEP_ALIVE)).isEqualTo(1);
    assertThat(response.streamBegun).as("begun so that proxies see a response").isTrue();
    assertThat(response.written()).isEqualTo(": keep-alive\n\n");
    assertThat(scheduler.run(KEEP_ALIVE)).isEqualTo(1);
    assertThat(response.written()).isEqualTo(": keep-alive\n\n: keep-alive\n\n");

    exchange.deliver(
        pieces.endFailed(1, 0, ResponseStatus.REJECTED, "validation.prompt_too_long", false));
    List<JsonNode> events = events();
    assertThat(events).hasSize(1);
    assertThat(events.get(0).path("error").path("code").asText())
        .isEqualTo("context_length_exceeded");
    assertThat(response.ended).isTrue();
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void aStreamThatWroteSinceTheLastTickGetsNoKeepAlive() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Hello"));
    scheduler.run(KEEP_ALIVE);
    assertThat(response.written()).doesNotContain("keep-alive");
    scheduler.run(KEEP_ALIVE);
    assertThat(response.written()).endsWith(": keep-alive\n\n");
    exchange.deliver(pieces.endOk(1, 2));
    assertThat(text()).isEqualTo("Hello");
  }

  @Test
  void aLostAnswerIs503SayingRetry() {
    Exchange before = exchange(false, false);
    before.onAnswerLost();
    assertThat(response.status).isEqualTo(503);
    assertThat(response.error.code()).isEqualTo("answer_lost");
    assertThat(response.error.retry()).isEqualTo(Retry.SOON);
    assertThat(failed(AnswerFailure.ANSWER_LOST)).isEqualTo(1);
  }

  @Test
  void aLostAnswerAfterTextIsAnErrorEvent() throws Exception {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "Part"));
    exchange.onAnswerLost();
    List<JsonNode> events = events();
    assertThat(events.get(events.size() - 1).path("error").path("code").asText())
        .isEqualTo("answer_lost");
    assertThat(response.ended).isTrue();
    assertThat(released).isEqualTo(1);
    exchange.deliver(pieces.delta(1, 2, "more"));
    assertThat(text()).isEqualTo("Part");
  }

  @Test
  void shutdownEndsAnOpenExchangeWithA503() {
    Exchange exchange = exchange(true, false);
    exchange.onShutdown();
    assertThat(response.status).isEqualTo(503);
    assertThat(response.error.retry()).isEqualTo(Retry.SOON);
    assertThat(released).isEqualTo(1);
    assertThat(failed(AnswerFailure.SHUTDOWN)).isEqualTo(1);
  }

  @Test
  void aFailureIsCountedOnceByItsFirstReason() {
    Exchange exchange = exchange(true, false);
    exchange.deliver(pieces.head(1));
    exchange.deliver(pieces.delta(1, 1, "x"));
    response.full = true;
    deadlinePasses(); // the error event waits behind what the client has not read
    exchange.onClientClosed();
    assertThat(failed(AnswerFailure.DEADLINE)).isEqualTo(1);
    assertThat(failedInAll()).isEqualTo(1);
    assertThat(released).isEqualTo(1);
  }
}
