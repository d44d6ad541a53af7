package dev.streamrag.schemas.codec;

import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.RetrievalOptions;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.TokenUsage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Fully populated records, so round trips exercise every field and every union branch. */
final class SampleRecords {
  static final Instant CREATED = Instant.parse("2026-01-31T12:00:00.123Z");

  private SampleRecords() {}

  static InferenceRequest request() {
    return InferenceRequest.newBuilder()
        .setRequestId("req-1")
        .setTenantId("acme")
        .setKind(RequestKind.RAG)
        .setModel("llama-3.1-8b")
        .setMessages(
            List.of(
                new ChatMessage(ChatRole.SYSTEM, "Answer from the context.", null, null, List.of()),
                new ChatMessage(
                    ChatRole.USER,
                    "Wie heißt die Hauptstadt? \uD83D\uDE00",
                    "u1",
                    null,
                    List.of())))
        .setPrompt(null)
        .setMaxTokens(128)
        .setTemperature(0.0)
        .setTopP(0.9)
        .setSeed(42L)
        .setStop(List.of("\n\n"))
        .setRetrieval(new RetrievalOptions(8, "docs-v2", true, 0.25, Map.of("lang", "de")))
        .setCacheMode(CacheMode.REFRESH)
        .setCreatedAt(CREATED)
        .setDeadline(CREATED.plusSeconds(30))
        .setTraceId("4bf92f3577b34da6a3ce929d0e0e4736")
        .setAttributes(Map.of("scenario", "smoke"))
        .build();
  }

  static InferenceResponse response() {
    StageTimings timings =
        StageTimings.newBuilder()
            .setQueueMs(1.5)
            .setCacheMs(0.4)
            .setEmbedMs(7.0)
            .setRetrieveMs(11.0)
            .setPromptMs(0.2)
            .setTtftMs(80.0)
            .setTpotMs(12.5)
            .setLlmMs(900.0)
            .setTotalMs(921.0)
            .build();
    return InferenceResponse.newBuilder()
        .setRequestId("req-1")
        .setTenantId("acme")
        .setStatus(ResponseStatus.OK)
        .setKind(RequestKind.RAG)
        .setModel("llama-3.1-8b")
        .setText("Berlin.")
        .setFinishReason("stop")
        .setCitations(List.of(new Citation("doc-7", "doc-7#0", 0.91, "Cities", "file:///c.md")))
        .setUsage(new TokenUsage(512, 3, 256))
        .setCacheHit(CacheHitKind.NONE)
        .setTimings(timings)
        .setError(null)
        .setLlmEndpoint("http://127.0.0.1:8000")
        .setRetries(1)
        .setCreatedAt(CREATED)
        .setCompletedAt(CREATED.plusMillis(921))
        .setTraceId("4bf92f3577b34da6a3ce929d0e0e4736")
        .setAttributes(Map.of("scenario", "smoke"))
        .build();
  }

  static InferenceResponse errorResponse() {
    return InferenceResponse.newBuilder(response())
        .setStatus(ResponseStatus.TIMEOUT)
        .setText(null)
        .setUsage(null)
        .setError(new ErrorDetail("llm.timeout", "no first token within 30 s", "llm", true))
        .build();
  }

  static Document document() {
    return Document.newBuilder()
        .setDocId("doc-7")
        .setTenantId("acme")
        .setTitle("Cities")
        .setText("Berlin is the capital of Germany.")
        .setSource("file:///c.md")
        .setUpdatedAt(CREATED)
        .setDeleted(false)
        .setMetadata(Map.of("lang", "en"))
        .build();
  }

  static LatencyRecord latency() {
    InferenceResponse response = response();
    return LatencyRecord.newBuilder()
        .setRequestId("req-1")
        .setTenantId("acme")
        .setKind(RequestKind.RAG)
        .setStatus(ResponseStatus.OK)
        .setCacheHit(CacheHitKind.RESPONSE)
        .setModel("llama-3.1-8b")
        .setLlmEndpoint(null)
        .setCreatedAt(CREATED)
        .setCompletedAt(CREATED.plusMillis(3))
        .setTimings(response.getTimings())
        .setPromptTokens(null)
        .setCompletionTokens(null)
        .setRetries(0)
        .setErrorCode(null)
        .setAttributes(Map.of())
        .build();
  }

  static DeadLetter deadLetter() {
    return DeadLetter.newBuilder()
        .setReasonCode("decode.malformed_json")
        .setReason("not valid JSON")
        .setStage("decode")
        .setJob("inference-job")
        .setTopic("rag.requests")
        .setPartition(3)
        .setOffset(12345L)
        .setRecordTimestamp(CREATED)
        .setKey(ByteBuffer.wrap("req-1".getBytes(StandardCharsets.UTF_8)))
        .setPayload(ByteBuffer.wrap(new byte[] {'{', 0, (byte) 0xff}))
        .setRequestId("req-1")
        .setTenantId(null)
        .setFailedAt(CREATED.plusSeconds(1))
        .build();
  }
}
