package dev.streamrag.schemas.codec;

/**
 * The registry answered for a schema id, and the answer can never be used to read Avro: another
 * schema type (Protobuf, JSON Schema), schema references, a schema too large or that does not
 * parse. Permanent for that id, so a record carrying it is a {@code decode.unknown_schema} dead
 * letter, not a reason to retry.
 */
public class UnusableWriterSchemaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UnusableWriterSchemaException(String message) {
    super(message);
  }
}
