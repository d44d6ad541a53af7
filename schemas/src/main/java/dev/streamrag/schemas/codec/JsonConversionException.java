package dev.streamrag.schemas.codec;

/** A JSON value that does not fit the Avro schema, with the JSON path where it went wrong. */
final class JsonConversionException extends Exception {
  private static final long serialVersionUID = 1L;

  JsonConversionException(String path, String problem) {
    super(path + ": " + problem);
  }
}
