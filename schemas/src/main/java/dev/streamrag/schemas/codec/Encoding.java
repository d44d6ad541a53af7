package dev.streamrag.schemas.codec;

/** How a message on a topic was encoded; detected per message by {@link RecordCodec#decode}. */
public enum Encoding {
  /** Avro single-object encoding: {@code C3 01}, 8-byte schema fingerprint, binary datum. */
  AVRO,
  /**
   * Avro framed for a schema registry (Confluent wire format, which Confluent's, Karapace's and
   * Redpanda's serializers write, and Apicurio's in their Confluent-compatible mode): magic byte
   * {@code 0}, 4-byte big-endian schema id, binary datum.
   */
  REGISTRY_AVRO,
  /** A plain JSON object using the schema's field names (or their aliases). */
  JSON
}
