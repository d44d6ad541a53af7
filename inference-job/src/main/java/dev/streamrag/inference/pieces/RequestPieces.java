package dev.streamrag.inference.pieces;

import dev.streamrag.inference.Stages;
import dev.streamrag.jobs.pieces.AnswerStream;
import dev.streamrag.jobs.pieces.PieceDestination;
import dev.streamrag.jobs.pieces.PieceMetrics;
import dev.streamrag.jobs.pieces.PiecePublisher;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.time.Instant;
import java.util.List;

/**
 * How the inference job's stages open and close an in-flight request's answer on the pieces topic.
 */
public final class RequestPieces {
  private RequestPieces() {}

  /**
   * A new generation of {@code request}'s answer, with its HEAD sent: numbered by the clock, and
   * above {@code after} (the last generation this request had), so a clock stepping back cannot
   * make it look stale.
   */
  public static AnswerStream open(
      PiecePublisher publisher,
      InFlightRequest request,
      List<Citation> citations,
      CacheHitKind cacheHit,
      PieceMetrics metrics,
      long after) {
    AnswerStream stream =
        publisher.open(
            PieceDestination.of(request.getRequest(), publisher.settings()),
            request.getRequest().getRequestId(),
            request.getRequest().getTenantId(),
            Math.max(Stages.nowMicros(), after + 1),
            metrics);
    stream.head(
        request.getRequest().getKind(),
        request.getModel(),
        citations,
        cacheHit,
        Instant.ofEpochMilli(request.getCreatedAt()));
    return stream;
  }

  /**
   * Sends {@code response}'s END on {@code stream}, with the stage timings so far and the total
   * until now, and marks the request as ended so the finish stage does not end it again.
   */
  public static void end(AnswerStream stream, InFlightRequest request, InferenceResponse response) {
    StageTimings timings = StageTimings.newBuilder(request.getTimings()).build();
    timings.setTotalMs(Math.max(0, Stages.nowMicros() / 1000.0 - request.getCreatedAt()));
    stream.end(response, timings);
    request.setPiecesEnded(true);
  }
}
