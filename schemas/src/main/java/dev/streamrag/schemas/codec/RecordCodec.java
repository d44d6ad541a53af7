package dev.streamrag.schemas.codec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Reads and writes one record type on a topic. Reads Avro single-object encoding, plain JSON and,
 * given a {@link WriterSchemaLookup}, schema-registry-framed Avro (Confluent wire format), told
 * apart per message by the first byte; writes Avro single-object encoding (or plain JSON, or
 * registry framing with a registered schema id, on request). Bad input never throws: {@link
 * #decode} returns a {@link DecodeFailure} instead, so a job can dead-letter the message and keep
 * running. The one exception it lets through is {@link SchemaRegistryUnavailableException}, which
 * is about the registry, not the message.
 *
 * <p>Schema evolution: a single-object message names its writer schema by fingerprint. The codec
 * knows the current schema, every released version ({@link ReleasedSchemas}) and every older or
 * newer one given to {@link Builder#addWriterSchema}, and resolves those to the current schema by
 * Avro's rules. A fingerprint it does not know is a {@link DecodeFailure.Reason#UNKNOWN_SCHEMA}
 * failure.
 *
 * <p>Instances are thread-safe; their only state is a bounded cache of what registry writer schemas
 * resolved to.
 */
public final class RecordCodec<T extends SpecificRecord> {
  /** Kafka's default maximum message size; a larger record is rejected before parsing. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

  private static final byte[] SINGLE_OBJECT_MAGIC = {(byte) 0xC3, (byte) 0x01};
  private static final int SINGLE_OBJECT_HEADER_BYTES = 10;

  /** Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian int. */
  private static final byte REGISTRY_MAGIC = 0;

  private static final int REGISTRY_HEADER_BYTES = 5;

  /** Registry schemas this codec has resolved, by id; ids are immutable in every registry. */
  private static final int MAX_REGISTRY_SCHEMAS = 1000;

  private final Class<T> type;
  private final Schema schema;
  private final SpecificData model;
  private final int maxMessageBytes;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;

  /** Every schema version this codec can read, by its single-object fingerprint. */
  private final Map<Long, Schema> writerSchemas;

  private final ObjectMapper json;

  private final WriterSchemaLookup registry;

  /** Readers for registry writer schemas that resolve to the current one, by schema id. */
  private final Map<Integer, SpecificDatumReader<T>> registryReaders = new ConcurrentHashMap<>();

  /** Why a registry writer schema cannot be read as the current one, by schema id. */
  private final Map<Integer, String> registryRefusals = new ConcurrentHashMap<>();

  private RecordCodec(Builder<T> builder) {
    this.registry = builder.registry;
    this.type = builder.type;
    this.model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    this.maxMessageBytes = builder.maxMessageBytes;
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema);
    this.writerSchemas = new LinkedHashMap<>();
    writerSchemas.put(SchemaNormalization.parsingFingerprint64(schema), schema);
    for (Schema other : builder.writerSchemas) {
      decoder.addSchema(other);
      writerSchemas.put(SchemaNormalization.parsingFingerprint64(other), other);
    }
    JsonFactory factory =
        JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .streamReadConstraints(
                StreamReadConstraints.builder().maxStringLength(maxMessageBytes).build())
            .build();
    this.json =
        JsonMapper.builder(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
  }

  /** A codec for {@code type} with default settings. */
  public static <T extends SpecificRecord> RecordCodec<T> of(Class<T> type) {
    return builder(type).build();
  }

  public static <T extends SpecificRecord> Builder<T> builder(Class<T> type) {
    return new Builder<>(type);
  }

  public Class<T> type() {
    return type;
  }

  public Schema schema() {
    return schema;
  }

  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /**
   * Decodes one message; never throws for bad input.
   *
   * @throws SchemaRegistryUnavailableException when a registry-framed message's schema cannot be
   *     looked up now (the message may be fine: retry it later, do not dead-letter it)
   */
  public Decoded<T> decode(byte[] message) {
    try {
      return decodeChecked(message);
    } catch (StackOverflowError e) {
      // A backstop: the validator caps nesting, so no message should get here.
      return Decoded.failed(
          DecodeFailure.of(DecodeFailure.Reason.MALFORMED_AVRO, "nested too deeply to decode"));
    }
  }

  private Decoded<T> decodeChecked(byte[] message) {
    if (message == null || message.length == 0) {
      return Decoded.failed(DecodeFailure.of(DecodeFailure.Reason.EMPTY, "empty message"));
    }
    if (message.length > maxMessageBytes) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.TOO_LARGE,
              "message has " + message.length + " bytes, the limit is " + maxMessageBytes));
    }
    if (message.length >= 2
        && message[0] == SINGLE_OBJECT_MAGIC[0]
        && message[1] == SINGLE_OBJECT_MAGIC[1]) {
      try {
        return decodeAvro(message);
      } catch (RuntimeException e) { // a case the checks above missed: still a value, not a crash
        return Decoded.failed(
            DecodeFailure.of(DecodeFailure.Reason.MALFORMED_AVRO, "cannot decode: " + describe(e)));
      }
    }
    if (message[0] == REGISTRY_MAGIC) {
      if (registry == null) {
        return Decoded.failed(
            DecodeFailure.of(
                DecodeFailure.Reason.UNKNOWN_ENCODING,
                "schema-registry framing (magic byte 0, schema id "
                    + (message.length >= REGISTRY_HEADER_BYTES ? registryId(message) : "truncated")
                    + ") but no schema registry is configured (schema-registry.url)"));
      }
      try {
        return decodeRegistryAvro(message);
      } catch (SchemaRegistryUnavailableException e) {
        throw e; // not the message's fault: the caller retries, it does not dead-letter
      } catch (RuntimeException e) {
        return Decoded.failed(
            DecodeFailure.of(DecodeFailure.Reason.MALFORMED_AVRO, "cannot decode: " + describe(e)));
      }
    }
    int first = firstNonBlank(message);
    if (first >= 0 && message[first] == '{') {
      try {
        return decodeJson(message);
      } catch (RuntimeException e) {
        return Decoded.failed(
            DecodeFailure.of(DecodeFailure.Reason.MALFORMED_JSON, "cannot decode: " + describe(e)));
      }
    }
    return Decoded.failed(
        DecodeFailure.of(
            DecodeFailure.Reason.UNKNOWN_ENCODING,
            "neither Avro single-object encoding (starts C3 01), schema-registry framing (starts"
                + " 00) nor a JSON object (starts '{'); first bytes: "
                + hex(message, 8)));
  }

  private Decoded<T> decodeAvro(byte[] message) {
    if (message.length < SINGLE_OBJECT_HEADER_BYTES) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "truncated single-object header: " + message.length + " bytes"));
    }
    long fingerprint = ByteBuffer.wrap(message, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    Schema writer = writerSchemas.get(fingerprint);
    if (writer == null) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.UNKNOWN_SCHEMA,
              String.format(
                  "unknown writer schema fingerprint %016x for %s; known: %s",
                  fingerprint, schema.getFullName(), knownFingerprints())));
    }
    // Avro trusts length prefixes and block counts (a 20-byte message can claim a 2 GB string);
    // the validator checks them against the message first, so the decoder sees sane input.
    try {
      AvroBinaryValidator.check(
          writer, message, SINGLE_OBJECT_HEADER_BYTES, message.length - SINGLE_OBJECT_HEADER_BYTES);
    } catch (AvroBinaryValidator.InvalidDatum e) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "invalid Avro datum for " + schema.getFullName() + ": " + e.getMessage()));
    }
    try {
      return Decoded.ok(decoder.decode(message), Encoding.AVRO);
    } catch (MissingSchemaException e) {
      return Decoded.failed(DecodeFailure.of(DecodeFailure.Reason.UNKNOWN_SCHEMA, e.getMessage()));
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "invalid Avro datum for " + schema.getFullName() + ": " + describe(e)));
    }
  }

  private Decoded<T> decodeRegistryAvro(byte[] message) {
    if (message.length < REGISTRY_HEADER_BYTES) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "truncated schema-registry header: " + message.length + " bytes"));
    }
    int id = registryId(message);
    String refused = registryRefusals.get(id);
    if (refused != null) {
      return Decoded.failed(DecodeFailure.of(DecodeFailure.Reason.UNKNOWN_SCHEMA, refused));
    }
    Schema writer;
    try {
      writer = registry.schemaById(id);
    } catch (UnusableWriterSchemaException e) {
      return Decoded.failed(DecodeFailure.of(DecodeFailure.Reason.UNKNOWN_SCHEMA, e.getMessage()));
    }
    if (writer == null) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.UNKNOWN_SCHEMA,
              "the schema registry has no schema with id "
                  + id
                  + " ("
                  + schema.getFullName()
                  + ")"));
    }
    SpecificDatumReader<T> reader = registryReaders.get(id);
    if (reader == null) {
      SchemaCompatibility.SchemaPairCompatibility compatibility =
          SchemaCompatibility.checkReaderWriterCompatibility(schema, writer);
      String why;
      if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        why =
            compatibility.getResult().getIncompatibilities().stream()
                .limit(3)
                .map(i -> i.getMessage() + " at " + i.getLocation())
                .toList()
                .toString();
      } else {
        why = LogicalTypeCheck.mismatch(schema, writer);
      }
      if (why != null) {
        String refusal =
            "schema id "
                + id
                + " ("
                + writer.getFullName()
                + ") cannot be read as "
                + schema.getFullName()
                + ": "
                + why;
        if (refusal.length() > 1000) {
          refusal = refusal.substring(0, 1000) + "…";
        }
        if (registryRefusals.size() < MAX_REGISTRY_SCHEMAS) {
          registryRefusals.put(id, refusal);
        }
        return Decoded.failed(DecodeFailure.of(DecodeFailure.Reason.UNKNOWN_SCHEMA, refusal));
      }
      reader = new SpecificDatumReader<>(writer, schema, model);
      if (registryReaders.size() < MAX_REGISTRY_SCHEMAS) {
        registryReaders.put(id, reader);
      }
    }
    try {
      AvroBinaryValidator.check(
          writer, message, REGISTRY_HEADER_BYTES, message.length - REGISTRY_HEADER_BYTES);
    } catch (AvroBinaryValidator.InvalidDatum e) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "invalid Avro datum for schema id " + id + ": " + e.getMessage()));
    }
    try {
      T value =
          reader.read(
              null,
              DecoderFactory.get()
                  .binaryDecoder(
                      message,
                      REGISTRY_HEADER_BYTES,
                      message.length - REGISTRY_HEADER_BYTES,
                      null));
      return Decoded.ok(value, Encoding.REGISTRY_AVRO);
    } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_AVRO,
              "invalid Avro datum for schema id " + id + ": " + describe(e)));
    }
  }

  private static int registryId(byte[] message) {
    return ByteBuffer.wrap(message, 1, 4).order(ByteOrder.BIG_ENDIAN).getInt();
  }

  private List<String> knownFingerprints() {
    List<String> known = new ArrayList<>();
    for (long fingerprint : writerSchemas.keySet()) {
      known.add(String.format("%016x", fingerprint));
    }
    return known;
  }

  private Decoded<T> decodeJson(byte[] message) {
    JsonNode tree;
    try {
      tree = json.readTree(message);
    } catch (JsonProcessingException e) {
      return Decoded.failed(
          DecodeFailure.of(
              DecodeFailure.Reason.MALFORMED_JSON, "not valid JSON: " + e.getOriginalMessage()));
    } catch (IOException e) {
      return Decoded.failed(
          DecodeFailure.of(DecodeFailure.Reason.MALFORMED_JSON, "not valid JSON: " + describe(e)));
    }
    try {
      GenericRecord generic = (GenericRecord) PlainJsonReader.read(tree, schema);
      return Decoded.ok(toSpecific(generic), Encoding.JSON);
    } catch (JsonConversionException e) {
      return Decoded.failed(
          new DecodeFailure(
              DecodeFailure.Reason.INVALID_FIELD,
              e.getMessage(),
              textField(tree, "requestId", "request_id", "docId", "doc_id"),
              textField(tree, "tenantId", "tenant_id")));
    }
  }

  /**
   * Generic to specific through Avro binary: the writer validates the generic record against the
   * schema and the specific reader applies logical-type conversions (e.g. timestamps to Instant),
   * exactly as for a message that arrived as Avro.
   */
  private T toSpecific(GenericRecord generic) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
      BinaryEncoder out = EncoderFactory.get().directBinaryEncoder(bytes, null);
      new GenericDatumWriter<GenericRecord>(schema).write(generic, out);
      out.flush();
      SpecificDatumReader<T> reader = new SpecificDatumReader<>(schema, schema, model);
      return reader.read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
    } catch (IOException e) {
      throw new UncheckedIOException("in-memory Avro round trip failed", e);
    }
  }

  /** Encodes as Avro single-object encoding, the format every job writes. */
  public byte[] encode(T record) {
    Objects.requireNonNull(record, "record");
    try {
      ByteBuffer buffer = encoder.encode(record);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException("in-memory Avro encoding failed", e);
    }
  }

  /**
   * Encodes in the Confluent wire format under {@code schemaId}, the id the registry gave this
   * codec's {@link #schema()} (see {@code SchemaRegistryClient#register}).
   */
  public byte[] encodeRegistryFramed(T record, int schemaId) {
    Objects.requireNonNull(record, "record");
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
      bytes.write(REGISTRY_MAGIC);
      bytes.write(ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(schemaId).array());
      BinaryEncoder out = EncoderFactory.get().directBinaryEncoder(bytes, null);
      new SpecificDatumWriter<T>(schema, model).write(record, out);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException("in-memory Avro encoding failed", e);
    }
  }

  /** Encodes as the plain JSON this codec reads, for people and tools that want JSON. */
  public byte[] encodeJson(T record) {
    Objects.requireNonNull(record, "record");
    try {
      return json.writeValueAsBytes(PlainJsonWriter.write(record, schema, model));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("JSON encoding failed", e);
    }
  }

  private static String textField(JsonNode tree, String... names) {
    if (tree == null || !tree.isObject()) {
      return null;
    }
    for (String name : names) {
      JsonNode value = tree.get(name);
      if (value != null && value.isTextual()) {
        return value.textValue();
      }
    }
    return null;
  }

  private static int firstNonBlank(byte[] message) {
    int i = 0;
    // A UTF-8 byte-order mark is legal before JSON text.
    if (message.length >= 3
        && message[0] == (byte) 0xEF
        && message[1] == (byte) 0xBB
        && message[2] == (byte) 0xBF) {
      i = 3;
    }
    for (; i < message.length; i++) {
      byte b = message[i];
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return i;
      }
    }
    return -1;
  }

  private static String hex(byte[] bytes, int max) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < Math.min(bytes.length, max); i++) {
      out.append(String.format("%02x ", bytes[i]));
    }
    String printable = new String(bytes, 0, Math.min(bytes.length, max), StandardCharsets.UTF_8);
    return out.toString().trim() + " (\"" + printable.replaceAll("\\p{Cntrl}", ".") + "\")";
  }

  private static String describe(Exception e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }

  /** Settings of a {@link RecordCodec}; {@link #build()} checks them. */
  public static final class Builder<T extends SpecificRecord> {
    private final Class<T> type;
    private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
    private final List<Schema> writerSchemas = new ArrayList<>();
    private WriterSchemaLookup registry;

    private Builder(Class<T> type) {
      this.type = Objects.requireNonNull(type, "record type is required but not provided");
      // Producers on an older release keep working after a contract gains a field.
      writerSchemas.addAll(
          ReleasedSchemas.versionsOf(SpecificData.getForClass(type).getSchema(type).getFullName()));
    }

    /** Messages larger than this are rejected unparsed (default 1 MiB, Kafka's default). */
    public Builder<T> maxMessageBytes(int maxMessageBytes) {
      if (maxMessageBytes <= 0) {
        throw new IllegalArgumentException(
            "maxMessageBytes must be positive, got " + maxMessageBytes);
      }
      this.maxMessageBytes = maxMessageBytes;
      return this;
    }

    /** Another version of the schema that producers may still (or already) write with. */
    public Builder<T> addWriterSchema(Schema writerSchema) {
      writerSchemas.add(Objects.requireNonNull(writerSchema, "writerSchema"));
      return this;
    }

    /**
     * Also read schema-registry-framed Avro, looking writer schemas up by id (normally a cached
     * {@code SchemaRegistryClient}). Without one, such messages fail as {@code
     * decode.unknown_encoding} with a hint.
     */
    public Builder<T> schemaRegistry(WriterSchemaLookup registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    public RecordCodec<T> build() {
      Schema current = SpecificData.getForClass(type).getSchema(type);
      if (current.getType() != Schema.Type.RECORD) {
        throw new IllegalArgumentException(type.getName() + " is not an Avro record class");
      }
      for (Schema writer : writerSchemas) {
        if (!writer.getFullName().equals(current.getFullName())) {
          throw new IllegalArgumentException(
              "writer schema "
                  + writer.getFullName()
                  + " is not a version of "
                  + current.getFullName());
        }
      }
      return new RecordCodec<>(this);
    }
  }
}
