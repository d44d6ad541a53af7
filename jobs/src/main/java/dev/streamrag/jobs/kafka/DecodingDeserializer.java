package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.codec.SchemaRegistryUnavailableException;
import java.io.IOException;
import java.time.Clock;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes Kafka records with {@link RecordCodec} (Avro single-object, JSON, and with a schema
 * registry configured, registry-framed Avro). A record that decodes becomes {@code Right(value)};
 * one that does not becomes {@code Left(DeadLetter)} with the original bytes, its topic, partition
 * and offset, and the reason. The source never fails on bad input; {@link SplitDeadLetters} routes
 * the lefts to a side output.
 *
 * <p>A registry that cannot be reached is the one failure that is not the record's: the
 * deserializer throws (after the client's retries), the task restarts and reads the record again,
 * rather than dead-lettering good records during a registry outage.
 *
 * <p>Both sides are typed as Avro records, so Flink never falls back to Kryo for them.
 */
public final class DecodingDeserializer<T extends SpecificRecordBase>
    implements KafkaRecordDeserializationSchema<Either<DeadLetter, T>> {
  private static final long serialVersionUID = 1L;

  private final Class<T> type;
  private final int maxMessageBytes;
  private final String job;
  private final SchemaRegistrySettings registry;
  private transient RecordCodec<T> codec;
  private transient Clock clock;

  public DecodingDeserializer(Class<T> type, int maxMessageBytes, String job) {
    this(type, maxMessageBytes, job, null);
  }

  /**
   * @param registry where to look up the writer schemas of registry-framed records; null: such
   *     records are dead letters ({@code decode.unknown_encoding}, saying what to configure)
   */
  public DecodingDeserializer(
      Class<T> type, int maxMessageBytes, String job, SchemaRegistrySettings registry) {
    this.registry = registry;
    this.type = Objects.requireNonNull(type, "record type is required but not provided");
    this.job = Objects.requireNonNull(job, "job name is required but not provided");
    if (maxMessageBytes <= 0) {
      throw new IllegalArgumentException(
          "maxMessageBytes must be positive, got " + maxMessageBytes);
    }
    this.maxMessageBytes = maxMessageBytes;
  }

  /** With the codec's default size limit (1 MiB). */
  public DecodingDeserializer(Class<T> type, String job) {
    this(type, RecordCodec.DEFAULT_MAX_MESSAGE_BYTES, job);
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) {
    codec();
  }

  @Override
  public void deserialize(
      ConsumerRecord<byte[], byte[]> record, Collector<Either<DeadLetter, T>> out)
      throws IOException {
    Decoded<T> decoded;
    try {
      decoded = codec().decode(record.value());
    } catch (SchemaRegistryUnavailableException e) {
      throw new IOException(
          "cannot decode "
              + record.topic()
              + "-"
              + record.partition()
              + "@"
              + record.offset()
              + ": "
              + e.getMessage(),
          e);
    }
    if (decoded.isOk()) {
      out.collect(Either.Right(decoded.value()));
    } else {
      out.collect(
          Either.Left(DeadLetters.undecodable(record, decoded.failure(), job, clock.instant())));
    }
  }

  private RecordCodec<T> codec() {
    if (codec == null) {
      RecordCodec.Builder<T> builder = RecordCodec.builder(type).maxMessageBytes(maxMessageBytes);
      if (registry != null) {
        builder.schemaRegistry(registry.client());
      }
      codec = builder.build();
      clock = Clock.systemUTC();
    }
    return codec;
  }

  @Override
  public TypeInformation<Either<DeadLetter, T>> getProducedType() {
    return new EitherTypeInfo<>(new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(type));
  }
}
