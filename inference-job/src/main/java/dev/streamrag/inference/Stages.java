package dev.streamrag.inference;

import dev.streamrag.inference.output.ClientErrors;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.time.Instant;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

/**
 * What every stage does with an {@link InFlightRequest}: time itself against the previous stage,
 * and finish a request with a status. A finished request carries its response and skips the
 * remaining stages.
 */
public final class Stages {
  private Stages() {}

  /** Finished requests leave the main path here and go straight to the output stage. */
  public static final OutputTag<InFlightRequest> FINISHED =
      new OutputTag<>("finished", new AvroTypeInfo<>(InFlightRequest.class));

  public static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  /** Milliseconds since the previous stage ended; this stage ends now. */
  public static double lap(InFlightRequest request) {
    long now = nowMicros();
    double millis = (now - request.getMarkMicros()) / 1000.0;
    request.setMarkMicros(now);
    return Math.max(0, millis);
  }

  public static boolean isFinished(InFlightRequest request) {
    return request.getResponse() != null;
  }

  /** A response skeleton for {@code request}: echoes its identity, completed at 0 until sent. */
  public static InferenceResponse.Builder response(InFlightRequest request, ResponseStatus status) {
    return InferenceResponse.newBuilder()
        .setRequestId(request.getRequest().getRequestId())
        .setTenantId(request.getRequest().getTenantId())
        .setKind(request.getRequest().getKind())
        .setModel(request.getModel())
        .setStatus(status)
        .setDegraded(request.getDegraded())
        .setCreatedAt(Instant.ofEpochMilli(request.getCreatedAt()))
        .setCompletedAt(Instant.EPOCH);
  }

  /**
   * Ends {@code request} without an answer. The message is what a tenant may read ({@link
   * ClientErrors}): no internal endpoints, no upstream error bodies.
   */
  public static InFlightRequest fail(
      InFlightRequest request,
      ResponseStatus status,
      String code,
      String message,
      String stage,
      boolean retryable) {
    request.setResponse(
        response(request, status)
            .setError(
                ErrorDetail.newBuilder()
                    .setCode(code)
                    .setMessage(ClientErrors.message(code, message))
                    .setStage(stage)
                    .setRetryable(retryable)
                    .build())
            .build());
    return request;
  }
}
