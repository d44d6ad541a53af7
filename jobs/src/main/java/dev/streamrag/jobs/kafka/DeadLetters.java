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
}
