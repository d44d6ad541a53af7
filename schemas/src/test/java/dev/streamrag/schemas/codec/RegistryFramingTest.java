package dev.streamrag.schemas.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Schema-registry framing (Confluent wire format) in the codec, with the registry's answers given
 * as a map: how each answer is turned into a value or a failure. The REST client against a real
 * registry is tested in test-support's SchemaRegistryIT and end to end in the inference job.
 */
class RegistryFramingTest {
  private static final Schema CURRENT = InferenceRequest.getClassSchema();
  private static final Schema RELEASED_V1 = ReleasedSchemas.of("v1").get(CURRENT.getFullName());
  private static final Map<Integer, Schema> REGISTRY =
      Map.of(7, CURRENT, 8, RELEASED_V1, 9, Document.getClassSchema());

  private final RecordCodec<InferenceRequest> codec =
      RecordCodec.builder(InferenceRequest.class).schemaRegistry(REGISTRY::get).build();

  @Test
  void aFramedRecordDecodesWithItsWriterSchemaFromTheRegistry() {
    InferenceRequest request = SampleRecords.request();
    byte[] bytes = codec.encodeRegistryFramed(request, 7);
    assertThat(bytes[0]).isZero();
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(7);
    Decoded<InferenceRequest> decoded = codec.decode(bytes);
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.encoding()).isEqualTo(Encoding.REGISTRY_AVRO);
    assertThat(decoded.value()).isEqualTo(request);
  }

  @Test
  void anOlderWriterSchemaIsResolvedToTheCurrentOne() throws Exception {
    // What an older producer writes: the request as the released v1 schema has it, under v1's id.
    InferenceRequest request = SampleRecords.request();
    byte[] current = codec.encodeRegistryFramed(request, 7);
    GenericRecord asV1 =
        new GenericDatumReader<GenericRecord>(CURRENT, RELEASED_V1)
            .read(null, DecoderFactory.get().binaryDecoder(current, 5, current.length - 5, null));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(new byte[] {0, 0, 0, 0, 8});
    BinaryEncoder out = EncoderFactory.get().directBinaryEncoder(bytes, null);
    new GenericDatumWriter<GenericRecord>(RELEASED_V1).write(asV1, out);
    out.flush();

    Decoded<InferenceRequest> decoded = codec.decode(bytes.toByteArray());
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.value().getRequestId()).isEqualTo(request.getRequestId());
    assertThat(decoded.value().getMessages()).isEqualTo(request.getMessages());
    assertThat(decoded.value().getTenantId()).isEqualTo(request.getTenantId());
  }

  @Test
  void anIdTheRegistryDoesNotHoldIsAnUnknownSchema() {
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 4242);
    Decoded<InferenceRequest> decoded = codec.decode(bytes);
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.UNKNOWN_SCHEMA);
    assertThat(decoded.failure().message()).contains("4242");
  }

  @Test
  void aSchemaOfAnotherRecordIsRefusedNamingBoth() {
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 9);
    Decoded<InferenceRequest> decoded = codec.decode(bytes);
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.UNKNOWN_SCHEMA);
    assertThat(decoded.failure().message())
        .contains("schema id 9", Document.getClassSchema().getFullName(), CURRENT.getFullName());
  }

  @Test
  void withoutARegistryTheFailureSaysWhatToConfigure() {
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 7);
    Decoded<InferenceRequest> decoded = RecordCodec.of(InferenceRequest.class).decode(bytes);
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.UNKNOWN_ENCODING);
    assertThat(decoded.failure().message()).contains("schema id 7", "schema-registry.url");
  }

  @Test
  void truncatedHeadersAndBrokenDataAreMalformed() {
    assertThat(codec.decode(new byte[] {0, 0, 7}).failure().reason())
        .isEqualTo(DecodeFailure.Reason.MALFORMED_AVRO);
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 7);
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    assertThat(codec.decode(truncated).failure().reason())
        .isEqualTo(DecodeFailure.Reason.MALFORMED_AVRO);
  }

  @Test
  void anUnavailableRegistryIsNotTheMessagesFault() {
    RecordCodec<InferenceRequest> down =
        RecordCodec.builder(InferenceRequest.class)
            .schemaRegistry(
                id -> {
                  throw new SchemaRegistryUnavailableException("registry down", null);
                })
            .build();
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 7);
    assertThatThrownBy(() -> down.decode(bytes))
        .isInstanceOf(SchemaRegistryUnavailableException.class);
  }

  @Test
  void aRecursiveWriterSchemaCannotNestAMessageDeepEnoughToOverflowTheStack() throws Exception {
    // Compatible with the reader (the extra field is skipped), and a tree: a producer that may
    // register schemas can send a record nested 200k deep.
    String json = CURRENT.toString();
    String junk =
        "{\"name\":\"junk\",\"type\":{\"type\":\"record\",\"name\":\"Node\","
            + "\"fields\":[{\"name\":\"c\",\"type\":{\"type\":\"array\",\"items\":\"Node\"}}]}}";
    Schema tree =
        new Schema.Parser().parse(json.substring(0, json.lastIndexOf(']')) + "," + junk + "]}");
    RecordCodec<InferenceRequest> reader =
        RecordCodec.builder(InferenceRequest.class).schemaRegistry(id -> tree).build();
    byte[] datum = codec.encodeRegistryFramed(SampleRecords.request(), 1);
    int depth = 200_000;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(datum);
    for (int i = 0; i < depth; i++) {
      bytes.write(2); // an array block of one Node
    }
    bytes.write(0); // the innermost Node's empty array
    for (int i = 0; i < depth; i++) {
      bytes.write(0); // each array's end
    }
    Decoded<InferenceRequest> decoded = reader.decode(bytes.toByteArray());
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.MALFORMED_AVRO);
    assertThat(decoded.failure().message()).contains("nested deeper");

    // The same writer with a shallow tree is read, the extra field skipped.
    byte[] shallow = Arrays.copyOf(datum, datum.length + 3);
    shallow[datum.length] = 2;
    assertThat(reader.decode(shallow).value()).isEqualTo(SampleRecords.request());
  }

  @Test
  void aWriterWithAnotherLogicalTypeIsRefusedNotMisread() {
    // Avro calls these compatible (both longs); read as millis, micros land in the year 55840.
    Schema micros =
        new Schema.Parser()
            .parse(
                CURRENT
                    .toString()
                    .replaceFirst(
                        "(\"name\":\"createdAt\",\"type\":\\[\"null\",\\{\"type\":\"long\","
                            + "\"logicalType\":\")timestamp-millis",
                        "$1timestamp-micros"));
    assertThat(micros.getField("createdAt").schema().getTypes().get(1).getLogicalType().getName())
        .isEqualTo("timestamp-micros");
    RecordCodec<InferenceRequest> reader =
        RecordCodec.builder(InferenceRequest.class).schemaRegistry(id -> micros).build();
    byte[] bytes = codec.encodeRegistryFramed(SampleRecords.request(), 3);
    Decoded<InferenceRequest> decoded = reader.decode(bytes);
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.UNKNOWN_SCHEMA);
    assertThat(decoded.failure().message()).contains("createdAt", "timestamp-micros");
  }

  @Test
  void aSchemaTheRegistryCallsUnusableIsAnUnknownSchema() {
    RecordCodec<InferenceRequest> reader =
        RecordCodec.builder(InferenceRequest.class)
            .schemaRegistry(
                id -> {
                  throw new UnusableWriterSchemaException(
                      "schema id " + id + " is a PROTOBUF schema");
                })
            .build();
    Decoded<InferenceRequest> decoded =
        reader.decode(codec.encodeRegistryFramed(SampleRecords.request(), 5));
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.UNKNOWN_SCHEMA);
    assertThat(decoded.failure().message()).contains("PROTOBUF");
  }

  @Test
  @Timeout(60)
  void randomAndMutatedFramedBytesNeverThrow() {
    Random random = new Random(11);
    byte[] valid = codec.encodeRegistryFramed(SampleRecords.request(), 7);
    int failures = 0;
    for (int i = 0; i < 5_000; i++) {
      byte[] input = valid.clone();
      if (i % 3 == 0) {
        input[5 + random.nextInt(input.length - 5)] = (byte) random.nextInt(256);
      } else if (i % 3 == 1) {
        input[1 + random.nextInt(4)] = (byte) random.nextInt(256); // another id
      } else {
        input = java.util.Arrays.copyOf(input, 1 + random.nextInt(input.length));
        input[0] = 0;
      }
      Decoded<InferenceRequest> decoded = codec.decode(input);
      assertThat(decoded.isOk() ^ decoded.failure() != null).isTrue();
      if (!decoded.isOk()) {
        failures++;
      }
    }
    assertThat(failures).isGreaterThan(2_000);
  }
}
