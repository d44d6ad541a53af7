package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.codec.RecordCodec;
import org.apache.avro.specific.SpecificRecord;

/**
 * How a job writes an output topic: Avro single-object encoding (compact, evolvable, the default),
 * or plain JSON, which a console consumer, kcat or any language reads without the project's codec.
 * The project's own readers accept both.
 */
public enum RecordFormat {
  AVRO,
  JSON;

  public <T extends SpecificRecord> byte[] encode(RecordCodec<T> codec, T record) {
    return this == JSON ? codec.encodeJson(record) : codec.encode(record);
  }
}
