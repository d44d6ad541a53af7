package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.codec.RecordCodec;
import org.apache.avro.specific.SpecificRecord;

/**
 * How a job writes an output topic: Avro single-object encoding (compact, evolvable, the default),
 * plain JSON, which a console consumer, kcat or any language reads without the project's codec, or
 * Avro framed for a schema registry (Confluent wire format), which Confluent-compatible
 * deserializers read. The jobs' readers accept all three (the last with {@code schema-registry.url}
 * set); the local stack's client, report and {@code ask} read the first two, so the stack refuses
 * REGISTRY.
 */
public enum RecordFormat {
  AVRO,
  JSON,
  /** Needs {@code schema-registry.url}; the schema id comes from the registry at start. */
  REGISTRY;

  /**
   * @param registryId the schema's id in the registry; only read for {@link #REGISTRY}
   */
  public <T extends SpecificRecord> byte[] encode(RecordCodec<T> codec, T record, int registryId) {
    return switch (this) {
      case AVRO -> codec.encode(record);
      case JSON -> codec.encodeJson(record);
      case REGISTRY -> codec.encodeRegistryFramed(record, registryId);
    };
  }
}
