package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.codec.DecodeFailure;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Builds {@link DeadLetter}s that keep the original bytes and say where they came from. */
public final class DeadLetters {
  private DeadLetters() {}

  /** A record from Kafka that could not be decoded. */
  public static DeadLetter undecodable(
      ConsumerRecord<byte[], byte[]> record, DecodeFailure failure, String job, Instant now) {
    return DeadLetter.newBuilder()
        .setReasonCode(failure.code())
        .setReason(failure.message())
        .setStage("decode")
        .setJob(job)
        .setTopic(record.topic())
        .setPartition(record.partition())
        .setOffset(record.offset())
        .setRecordTimestamp(
            record.timestamp() >= 0 ? Instant.ofEpochMilli(record.timestamp()) : null)
        .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
        .setPayload(ByteBuffer.wrap(record.value() == null ? new byte[0] : record.value()))
        .setRequestId(failure.idHint())
        .setTenantId(failure.tenantHint())
        .setFailedAt(now)
        .build();
  }

  /**
   * A record that was read fine but refused later (too large, invalid for its purpose).
   *
   * @param payload what to keep of the record so it can be inspected or replayed; keep it well
   *     under the dead-letter topic's message size limit
   * @param id the record's own id (request or document), if known
   */
  public static DeadLetter rejected(
      String reasonCode,
      String reason,
      String stage,
      String job,
      byte[] payload,
      String id,
      String tenantId,
      Instant now) {
    return DeadLetter.newBuilder()
        .setReasonCode(reasonCode)
        .setReason(reason)
        .setStage(stage)
        .setJob(job)
        .setPayload(ByteBuffer.wrap(payload))
        .setRequestId(id)
        .setTenantId(tenantId)
        .setFailedAt(now)
        .build();
  }
}
