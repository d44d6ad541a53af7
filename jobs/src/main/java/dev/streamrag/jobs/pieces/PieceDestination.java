package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ReplyTo;
import java.util.Objects;

/**
 * Where one request's pieces go: the topic and partition its {@code replyTo} names, or the default
 * topic partitioned by requestId.
 *
 * @param partition null to partition by the requestId key
 */
public record PieceDestination(String topic, Integer partition, String key) {
  public PieceDestination {
    Objects.requireNonNull(topic, "topic");
    Objects.requireNonNull(key, "key");
  }

  /**
   * The destination of {@code request}'s pieces. A replyTo naming a topic the settings do not allow
   * (the request is then REJECTED for it) is not followed: its pieces go to the default topic by
   * requestId, so a client can never make the job write elsewhere.
   */
  public static PieceDestination of(InferenceRequest request, PieceSettings settings) {
    if (settings.isolated().isolated(request.getTenantId())) {
      // An isolated tenant reads its own topic only; no replyTo can send its answer elsewhere.
      return new PieceDestination(
          settings.isolated().topic(settings.topic(), request.getTenantId()),
          null,
          request.getRequestId());
    }
    ReplyTo reply = request.getReplyTo();
    if (reply == null || !settings.allows(reply.getTopic())) {
      return new PieceDestination(settings.topic(), null, request.getRequestId());
    }
    String topic = reply.getTopic() == null ? settings.topic() : reply.getTopic();
    return new PieceDestination(topic, reply.getPartition(), request.getRequestId());
  }
}
