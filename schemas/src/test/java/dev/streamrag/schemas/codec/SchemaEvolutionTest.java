package dev.streamrag.schemas.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Old readers read new writers and back, through the same single-object encoding jobs use. */
class SchemaEvolutionTest {

  private static Schema load(String resource) throws IOException {
    try (InputStream in = SchemaEvolutionTest.class.getResourceAsStream(resource)) {
      return new Schema.Parser().parse(in);
    }
  }

  @Test
  void currentReaderReadsAnOlderWriterAndFillsDefaults() throws IOException {
    Schema old = load("/evolution/InferenceRequest-old.avsc");
    GenericRecord written = new GenericData.Record(old);
    written.put("requestId", "r-old");
    written.put("tenantId", "t");
    written.put("model", null);
    written.put("prompt", "hello");
    written.put("maxTokens", 12);
    written.put("createdAt", 1_769_860_800_000L);
    byte[] bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), old).encode(written).array();

    RecordCodec<InferenceRequest> withoutHistory = RecordCodec.of(InferenceRequest.class);
    assertThat(withoutHistory.decode(bytes).failure().reason())
        .isEqualTo(DecodeFailure.Reason.UNKNOWN_SCHEMA);

    RecordCodec<InferenceRequest> codec =
        RecordCodec.builder(InferenceRequest.class).addWriterSchema(old).build();
    Decoded<InferenceRequest> decoded = codec.decode(bytes);
    assertThat(decoded.failure()).isNull();
    InferenceRequest request = decoded.value();
    assertThat(request.getRequestId()).isEqualTo("r-old");
    assertThat(request.getPrompt()).isEqualTo("hello");
    assertThat(request.getMaxTokens()).isEqualTo(12);
    assertThat(request.getCreatedAt()).isEqualTo(Instant.ofEpochMilli(1_769_860_800_000L));
    assertThat(request.getKind()).isEqualTo(RequestKind.CHAT);
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.DEFAULT);
    assertThat(request.getMessages()).isEmpty();
    assertThat(request.getAttributes()).isEmpty();
  }

  @Test
  void olderReaderReadsTheCurrentWriter() throws IOException {
    Schema old = load("/evolution/InferenceRequest-old.avsc");
    byte[] bytes = RecordCodec.of(InferenceRequest.class).encode(SampleRecords.request());

    BinaryMessageDecoder<GenericRecord> oldReader =
        new BinaryMessageDecoder<>(GenericData.get(), old);
    oldReader.addSchema(InferenceRequest.getClassSchema());
    GenericRecord read = oldReader.decode(bytes);

    assertThat(read.get("requestId").toString()).isEqualTo("req-1");
    assertThat(read.get("maxTokens")).isEqualTo(128);
    assertThat(read.get("createdAt")).isEqualTo(SampleRecords.CREATED.toEpochMilli());
    assertThat(read.getSchema().getField("retrieval")).isNull();
  }

  @Test
  void currentReaderReadsANewerWriterAndMapsUnknownStatusToError() throws IOException {
    Schema newer = load("/evolution/InferenceResponse-newer.avsc");
    GenericRecord written = new GenericData.Record(newer);
    written.put("requestId", "r-new");
    written.put("tenantId", "t");
    written.put(
        "status", new GenericData.EnumSymbol(newer.getField("status").schema(), "CANCELLED"));
    written.put("text", null);
    written.put("completedAt", 1_769_860_800_000L);
    written.put("priority", 5);
    written.put("reasoning", "because");
    byte[] bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), newer).encode(written).array();

    RecordCodec<InferenceResponse> codec =
        RecordCodec.builder(InferenceResponse.class).addWriterSchema(newer).build();
    Decoded<InferenceResponse> decoded = codec.decode(bytes);

    assertThat(decoded.failure()).isNull();
    assertThat(decoded.value().getRequestId()).isEqualTo("r-new");
    assertThat(decoded.value().getStatus()).isEqualTo(ResponseStatus.ERROR);
    assertThat(decoded.value().getCitations()).isEmpty();
  }

  @Test
  void newerReaderReadsTheCurrentWriter() throws IOException {
    Schema newer = load("/evolution/InferenceResponse-newer.avsc");
    byte[] bytes = RecordCodec.of(InferenceResponse.class).encode(SampleRecords.response());

    BinaryMessageDecoder<GenericRecord> newerReader =
        new BinaryMessageDecoder<>(GenericData.get(), newer);
    newerReader.addSchema(InferenceResponse.getClassSchema());
    GenericRecord read = newerReader.decode(bytes);

    assertThat(read.get("text").toString()).isEqualTo("Berlin.");
    assertThat(read.get("priority")).isEqualTo(0);
    assertThat(read.get("reasoning")).isNull();
  }

  @Test
  void aWriterSchemaOfAnotherRecordIsRefusedAtBuildTime() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                RecordCodec.builder(InferenceRequest.class)
                    .addWriterSchema(Document.getClassSchema())
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a version of dev.streamrag.schemas.InferenceRequest");
  }

  /** The contracts as released (v1); a change that breaks either direction fails here. */
  static Stream<Arguments> releasedContracts() throws IOException {
    Map<String, Schema> released = parseReleased("v1");
    List<Arguments> pairs = new ArrayList<>();
    for (Schema current :
        List.of(
            InferenceRequest.getClassSchema(),
            InferenceResponse.getClassSchema(),
            LatencyRecord.getClassSchema(),
            Document.getClassSchema(),
            DeadLetter.getClassSchema())) {
      pairs.add(Arguments.of(current.getName(), released.get(current.getFullName()), current));
    }
    return pairs.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("releasedContracts")
  void everyContractStaysCompatibleWithItsReleasedVersion(
      String name, Schema released, Schema current) {
    assertThat(released).as("released v1 of %s", name).isNotNull();
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(current, released).getType())
        .as("current %s reads released data", name)
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(released, current).getType())
        .as("released %s readers read current data", name)
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
  }

  private static Map<String, Schema> parseReleased(String version) {
    return ReleasedSchemas.of(version);
  }

  @Test
  void aRequestWrittenWithTheReleasedV1SchemaDecodesWithTheCurrentCodec() throws IOException {
    Schema v1 = ReleasedSchemas.of("v1").get(InferenceRequest.getClassSchema().getFullName());
    assertThat(SchemaNormalization.parsingFingerprint64(v1))
        .as("the contract changed since v1, so this test means something")
        .isNotEqualTo(SchemaNormalization.parsingFingerprint64(InferenceRequest.getClassSchema()));
    GenericRecord written = new GenericData.Record(v1);
    for (Schema.Field field : v1.getFields()) {
      if (field.hasDefaultValue()) {
        written.put(field.name(), GenericData.get().getDefaultValue(field));
      }
    }
    written.put("requestId", "r-v1");
    written.put("tenantId", "acme");
    written.put("prompt", "hello");
    byte[] bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(written).array();

    InferenceRequest read = RecordCodec.of(InferenceRequest.class).decode(bytes).value();

    assertThat(read.getRequestId()).isEqualTo("r-v1");
    assertThat(read.getPrompt()).isEqualTo("hello");
    assertThat(read.getReplyTo()).isNull();
  }

  @Test
  void deadLetterPayloadSurvivesUnchanged() {
    RecordCodec<DeadLetter> codec = RecordCodec.of(DeadLetter.class);
    DeadLetter decoded = codec.decode(codec.encode(SampleRecords.deadLetter())).value();
    ByteBuffer payload = decoded.getPayload();
    assertThat(payload.remaining()).isEqualTo(3);
    assertThat(payload.get(2)).isEqualTo((byte) 0xff);
  }
}
