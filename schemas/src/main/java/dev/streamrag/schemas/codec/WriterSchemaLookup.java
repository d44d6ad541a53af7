package dev.streamrag.schemas.codec;

import org.apache.avro.Schema;

/**
 * Finds the writer schema of a schema-registry-framed message by its id (Confluent wire format:
 * magic byte 0, a 4-byte big-endian schema id, the Avro binary datum). Implemented over a
 * registry's REST API by {@code dev.streamrag.schemas.registry.SchemaRegistryClient}.
 */
@FunctionalInterface
public interface WriterSchemaLookup {
  /**
   * The schema registered under {@code id}, or null if the registry has none (a permanent answer:
   * the message becomes a {@code decode.unknown_schema} failure).
   *
   * @throws SchemaRegistryUnavailableException when the registry cannot be asked now, or answers in
   *     a way that says it is misconfigured; not the message's fault, so the caller retries later
   *     rather than dead-lettering it
   * @throws UnusableWriterSchemaException when the id's schema can never be read as Avro (a
   *     permanent answer, like null)
   */
  Schema schemaById(int id);
}
