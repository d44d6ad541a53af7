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
 * Writes records to one topic as Avro single-object encoding (or plain JSON, or registry-framed
 * Avro, see {@link RecordFormat}), keyed by a field of the record (e.g. requestId), so that all
 * records of one request land in one partition.
 */
public final class AvroRecordSerializer<T extends SpecificRecordBase>
    implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;

  private final Class<T> type;
  private final String topic;
  private SerializableFunction<T, String> topicOf;
  private final SerializableFunction<T, String> key;
  private final RecordFormat format;
  private final SchemaRegistrySettings registry;
  private transient RecordCodec<T> codec;
  private transient int registryId;

  /**
   * @param key extracts the Kafka key; null means no key (round-robin partitions)
   */
  public AvroRecordSerializer(Class<T> type, String topic, SerializableFunction<T, String> key) {
    this(type, topic, key, RecordFormat.AVRO);
  }

  /**
   * @param key extracts the Kafka key; null means no key (round-robin partitions)
   * @param format Avro single-object encoding, plain JSON, or registry framing (which needs the
   *     registry: use the five-argument constructor)
   */
  public AvroRecordSerializer(
      Class<T> type, String topic, SerializableFunction<T, String> key, RecordFormat format) {
    this(type, topic, key, format, null);
  }

  /**
   * @param registry the schema registry; required for {@link RecordFormat#REGISTRY}, where the
   *     schema is registered (or looked up) under {@code <topic>-value} when the sink opens
   */
  public AvroRecordSerializer(
      Class<T> type,
      String topic,
      SerializableFunction<T, String> key,
      RecordFormat format,
      SchemaRegistrySettings registry) {
    if (format == RecordFormat.REGISTRY && registry == null) {
      throw new IllegalArgumentException(
          "format REGISTRY for topic " + topic + " needs schema-registry.url");
    }
    this.registry = registry;
    this.type = Objects.requireNonNull(type, "record type is required but not provided");
    this.topic = Objects.requireNonNull(topic, "topic is required but not provided");
    this.key = key;
    this.format = Objects.requireNonNull(format, "format is required but not provided");
  }

  /**
   * Writes each record to the topic {@code topicOf} names (an isolated tenant's own topic) instead
   * of the one topic. Not with REGISTRY framing, whose subject is registered per topic at start.
   */
  public AvroRecordSerializer<T> routedBy(SerializableFunction<T, String> topicOf) {
    if (format == RecordFormat.REGISTRY) {
      throw new IllegalArgumentException(
          "records routed to per-tenant topics cannot be REGISTRY-framed (one subject per topic,"
              + " registered at start): use AVRO or JSON for "
              + topic);
    }
    this.topicOf = topicOf;
    return this;
  }

  @Override
  public void open(
      SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
    codec();
  }

  private RecordCodec<T> codec() {
    if (codec == null) {
      RecordCodec<T> made = RecordCodec.of(type);
      if (format == RecordFormat.REGISTRY) {
        // Once per task: the id is cached by the registry client, and registering an existing
        // schema returns its id without a new version.
        registryId =
            registry
                .client()
                .idFor(
                    SchemaRegistrySettings.valueSubject(topic),
                    made.schema(),
                    registry.autoRegister());
      }
      codec = made;
    }
    return codec;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      T element, KafkaSinkContext context, Long timestamp) {
    RecordCodec<T> codec = codec();
    String keyValue = key == null ? null : key.apply(element);
    return new ProducerRecord<>(
        topicOf == null ? topic : topicOf.apply(element),
        null,
        timestamp,
        keyValue == null ? null : keyValue.getBytes(StandardCharsets.UTF_8),
        format.encode(codec, element, registryId));
  }
}
