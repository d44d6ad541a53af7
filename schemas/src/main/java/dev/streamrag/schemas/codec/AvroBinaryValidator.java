package dev.streamrag.schemas.codec;

import org.apache.avro.Schema;

/**
 * Walks an Avro binary datum against its writer schema without materialising it, and fails on
 * anything a hostile or corrupt message could use to hurt the decoder.
 *
 * <p>Why not Avro's own {@code GenericDatumReader.skip}: Avro trusts length prefixes and block
 * counts. A string length of 2 GB makes the real decoder allocate 2 GB before it notices the bytes
 * are missing, and a map block count of 2^62 makes {@code skip} loop for ages reading past the end
 * of the buffer. Here every length and count is checked against the bytes that remain, so the walk
 * is linear in the message size and the decoder that runs afterwards only sees consistent input.
 *
 * <p>Nesting is capped at {@link #MAX_DEPTH}: a writer schema from a registry may be recursive (a
 * tree), and a datum nested 200k deep would overflow the stack here and in the decoder, failing the
 * task on every replay of the record.
 */
final class AvroBinaryValidator {
  /** Far beyond any contract of ours (they nest fewer than 10 levels). */
  static final int MAX_DEPTH = 100;

  private final byte[] buf;
  private final int end;
  private int pos;
  private int depth;

  private AvroBinaryValidator(byte[] buf, int offset, int length) {
    this.buf = buf;
    this.pos = offset;
    this.end = offset + length;
  }

  /** Checks that {@code buf[offset, offset+length)} is exactly one datum of {@code schema}. */
  static void check(Schema schema, byte[] buf, int offset, int length) throws InvalidDatum {
    AvroBinaryValidator validator = new AvroBinaryValidator(buf, offset, length);
    validator.walk(schema);
    if (validator.pos != validator.end) {
      throw new InvalidDatum(
          (validator.end - validator.pos) + " trailing bytes after the Avro datum");
    }
  }

  private void walk(Schema schema) throws InvalidDatum {
    if (++depth > MAX_DEPTH) {
      throw new InvalidDatum("nested deeper than " + MAX_DEPTH + " levels");
    }
    try {
      walkType(schema);
    } finally {
      depth--;
    }
  }

  private void walkType(Schema schema) throws InvalidDatum {
    switch (schema.getType()) {
      case RECORD:
        for (Schema.Field field : schema.getFields()) {
          walk(field.schema());
        }
        return;
      case UNION:
        long branch = readLong();
        if (branch < 0 || branch >= schema.getTypes().size()) {
          throw new InvalidDatum("union branch " + branch + " out of range for " + schema);
        }
        walk(schema.getTypes().get((int) branch));
        return;
      case ENUM:
        long symbol = readLong();
        if (symbol < 0 || symbol >= schema.getEnumSymbols().size()) {
          throw new InvalidDatum("enum index " + symbol + " out of range for " + schema.getName());
        }
        return;
      case ARRAY:
        walkBlocks(schema.getElementType(), false);
        return;
      case MAP:
        walkBlocks(schema.getValueType(), true);
        return;
      case STRING:
      case BYTES:
        skip(readLength("string or bytes length"));
        return;
      case FIXED:
        skip(schema.getFixedSize());
        return;
      case INT:
        long value = readLong();
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
          throw new InvalidDatum("int out of range: " + value);
        }
        return;
      case LONG:
        readLong();
        return;
      case FLOAT:
        skip(4);
        return;
      case DOUBLE:
        skip(8);
        return;
      case BOOLEAN:
        skip(1);
        return;
      case NULL:
        return;
      default:
        throw new InvalidDatum("unsupported schema type " + schema.getType());
    }
  }

  /** Arrays and maps come in blocks: a count (negative: followed by a byte size), 0 ends. */
  private void walkBlocks(Schema itemSchema, boolean map) throws InvalidDatum {
    while (true) {
      long count = readLong();
      if (count == 0) {
        return;
      }
      if (count < 0) {
        count = -count;
        readLength("block byte size");
      }
      // Every item takes at least one byte on the wire (a zero-byte item type such as null is
      // capped the same way), so a count larger than what remains cannot be honest.
      if (count < 0 || count > end - pos) {
        throw new InvalidDatum(
            "block count " + count + " exceeds the " + (end - pos) + " bytes left");
      }
      for (long i = 0; i < count; i++) {
        if (map) {
          skip(readLength("map key length"));
        }
        walk(itemSchema);
      }
    }
  }

  private int readLength(String what) throws InvalidDatum {
    long length = readLong();
    if (length < 0 || length > end - pos) {
      throw new InvalidDatum(what + " " + length + " but only " + (end - pos) + " bytes left");
    }
    return (int) length;
  }

  private void skip(int bytes) throws InvalidDatum {
    if (bytes > end - pos) {
      throw new InvalidDatum("needs " + bytes + " more bytes, only " + (end - pos) + " left");
    }
    pos += bytes;
  }

  /** Zig-zag varint, at most 10 bytes. */
  private long readLong() throws InvalidDatum {
    long raw = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos >= end) {
        throw new InvalidDatum("truncated: the datum ends inside a number");
      }
      int b = buf[pos++] & 0xFF;
      raw |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new InvalidDatum("varint longer than 10 bytes");
  }

  /** The datum does not match its writer schema. */
  static final class InvalidDatum extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidDatum(String message) {
      super(message);
    }
  }
}
