package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.codec.DecodeFailure;
import dev.streamrag.schemas.ids.Identifiers;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Builds {@link DeadLetter}s that keep the original bytes and say where they came from. Everything
 * a record brings is bounded, so that a dead letter always fits the topic: the payload and key are
 * cut to {@link #MAX_PAYLOAD_BYTES} and {@link #MAX_KEY_BYTES} (the reason says so), text fields
 * are clipped.
 */
public final class DeadLetters {
  private DeadLetters() {}

  /** The most of a record's value a dead letter keeps: enough to inspect, far under 1 MiB. */
  public static final int MAX_PAYLOAD_BYTES = 256 * 1024;

  public static final int MAX_KEY_BYTES = 1024;
  private static final int MAX_REASON_CHARS = 2000;

  /** A record from Kafka that could not be decoded. */
  public static DeadLetter undecodable(
      ConsumerRecord<byte[], byte[]> record, DecodeFailure failure, String job, Instant now) {
    byte[] value = record.value() == null ? new byte[0] : record.value();
    return DeadLetter.newBuilder()
        .setReasonCode(failure.code())
        .setReason(reason(failure.message(), value.length))
        .setStage("decode")
        .setJob(job)
        .setTopic(record.topic())
        .setPartition(record.partition())
        .setOffset(record.offset())
        .setRecordTimestamp(
            record.timestamp() >= 0 ? Instant.ofEpochMilli(record.timestamp()) : null)
        .setKey(record.key() == null ? null : cut(record.key(), MAX_KEY_BYTES))
        .setPayload(cut(value, MAX_PAYLOAD_BYTES))
        .setRequestId(addressable(failure.idHint()))
        .setTenantId(Identifiers.clip(failure.tenantHint(), Identifiers.MAX_TENANT_ID_CHARS))
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
        .setReason(reason(reason, payload.length))
        .setStage(stage)
        .setJob(job)
        .setPayload(cut(payload, MAX_PAYLOAD_BYTES))
        .setRequestId(addressable(id))
        .setTenantId(Identifiers.clip(tenantId, Identifiers.MAX_TENANT_ID_CHARS))
        .setFailedAt(now)
        .build();
  }

  /**
   * The request id, if a response could be addressed to it; else null (the payload still shows it).
   * A dead letter with a request id and a tenant gets a REJECTED response too.
   */
  private static String addressable(String id) {
    return Identifiers.validRequestId(id) ? id : null;
  }

  private static ByteBuffer cut(byte[] bytes, int max) {
    return ByteBuffer.wrap(bytes, 0, Math.min(bytes.length, max)).slice();
  }

  private static String reason(String reason, int payloadBytes) {
    String clipped = Identifiers.clip(reason == null ? "" : reason, MAX_REASON_CHARS);
    return payloadBytes > MAX_PAYLOAD_BYTES
        ? clipped
            + " (payload cut to its first "
            + MAX_PAYLOAD_BYTES
            + " of "
            + payloadBytes
            + " bytes)"
        : clipped;
  }
}
