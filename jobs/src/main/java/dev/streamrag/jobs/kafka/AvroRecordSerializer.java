package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes records to one topic as Avro single-object encoding (or plain JSON, see {@link
 * RecordFormat}), keyed by a field of the record (e.g. requestId), so that all records of one
 * request land in one partition.
 */
public final class AvroRecordSerializer<T extends SpecificRecordBase>
    implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;

  private final Class<T> type;
  private final String topic;
  private final SerializableFunction<T, String> key;
  private final RecordFormat format;
  private transient RecordCodec<T> codec;

  /**
   * @param key extracts the Kafka key; null means no key (round-robin partitions)
   */
  public AvroRecordSerializer(Class<T> type, String topic, SerializableFunction<T, String> key) {
    this(type, topic, key, RecordFormat.AVRO);
  }

  /**
   * @param key extracts the Kafka key; null means no key (round-robin partitions)
   * @param format Avro single-object encoding or plain JSON
   */
  public AvroRecordSerializer(
      Class<T> type, String topic, SerializableFunction<T, String> key, RecordFormat format) {
    this.type = Objects.requireNonNull(type, "record type is required but not provided");
    this.topic = Objects.requireNonNull(topic, "topic is required but not provided");
    this.key = key;
    this.format = Objects.requireNonNull(format, "format is required but not provided");
  }

  @Override
  public void open(
      SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
    codec = RecordCodec.of(type);
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      T element, KafkaSinkContext context, Long timestamp) {
    if (codec == null) {
      codec = RecordCodec.of(type);
    }
    String keyValue = key == null ? null : key.apply(element);
    return new ProducerRecord<>(
        topic,
        null,
        timestamp,
        keyValue == null ? null : keyValue.getBytes(StandardCharsets.UTF_8),
        format.encode(codec, element));
  }
}
