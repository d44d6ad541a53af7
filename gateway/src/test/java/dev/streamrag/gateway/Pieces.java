package dev.streamrag.gateway;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.PieceType;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.TokenUsage;
import java.time.Instant;
import java.util.List;

/** AnswerPiece records as the inference job writes them, for tests. */
public final class Pieces {
  private final String requestId;
  private final String tenantId;

  public Pieces(String requestId, String tenantId) {
    this.requestId = requestId;
    this.tenantId = tenantId;
  }

  private AnswerPiece.Builder piece(long generation, int seq, PieceType type) {
    return AnswerPiece.newBuilder()
        .setRequestId(requestId)
        .setTenantId(tenantId)
        .setGeneration(generation)
        .setSeq(seq)
        .setType(type)
        .setEmittedAt(Instant.now());
  }

  public AnswerPiece head(long generation) {
    return piece(generation, 0, PieceType.HEAD)
        .setKind(RequestKind.RAG)
        .setModel("sim-model")
        .setCitations(
            List.of(
                Citation.newBuilder()
                    .setDocId("doc-1")
                    .setChunkId("doc-1#0")
                    .setScore(0.9)
                    .setTitle("Zorblax")
                    .build()))
        .setCacheHit(CacheHitKind.NONE)
        .build();
  }

  public AnswerPiece delta(long generation, int seq, String text) {
    return piece(generation, seq, PieceType.DELTA).setText(text).setTokens(1).build();
  }

  public AnswerPiece endOk(long generation, int seq) {
    return piece(generation, seq, PieceType.END)
        .setStatus(ResponseStatus.OK)
        .setFinishReason("stop")
        .setUsage(
            TokenUsage.newBuilder()
                .setPromptTokens(12)
                .setCompletionTokens(5)
                .setCachedPromptTokens(4)
                .build())
        .setTimings(
            StageTimings.newBuilder().setQueueMs(1.5).setLlmMs(20.0).setTotalMs(25.0).build())
        .build();
  }

  public AnswerPiece endFailed(
      long generation, int seq, ResponseStatus status, String code, boolean retryable) {
    return piece(generation, seq, PieceType.END)
        .setStatus(status)
        .setError(
            ErrorDetail.newBuilder()
                .setCode(code)
                .setMessage("job says " + code)
                .setStage("llm")
                .setRetryable(retryable)
                .build())
        .build();
  }
}
