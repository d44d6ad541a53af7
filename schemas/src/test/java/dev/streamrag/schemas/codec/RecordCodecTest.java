package dev.streamrag.schemas.codec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.RequestKind;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RecordCodecTest {
  private final RecordCodec<InferenceRequest> requests = RecordCodec.of(InferenceRequest.class);

  static Stream<Arguments> everyRecordType() {
    return Stream.of(
        Arguments.of(InferenceRequest.class, SampleRecords.request()),
        Arguments.of(InferenceResponse.class, SampleRecords.response()),
        Arguments.of(InferenceResponse.class, SampleRecords.errorResponse()),
        Arguments.of(Document.class, SampleRecords.document()),
        Arguments.of(LatencyRecord.class, SampleRecords.latency()),
        Arguments.of(DeadLetter.class, SampleRecords.deadLetter()));
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  <T extends SpecificRecord> void avroRoundTripGivesAnEqualRecord(Class<T> type, T record) {
    RecordCodec<T> codec = RecordCodec.of(type);
    byte[] bytes = codec.encode(record);

    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    Decoded<T> decoded = codec.decode(bytes);
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.encoding()).isEqualTo(Encoding.AVRO);
    assertThat(decoded.value()).isEqualTo(record);
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  <T extends SpecificRecord> void jsonRoundTripGivesAnEqualRecord(Class<T> type, T record) {
    RecordCodec<T> codec = RecordCodec.of(type);
    Decoded<T> decoded = codec.decode(codec.encodeJson(record));
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.encoding()).isEqualTo(Encoding.JSON);
    assertThat(decoded.value()).isEqualTo(record);
  }

  @Test
  void readsJsonAsPythonClientsWriteIt() {
    String json =
        """
        {"request_id": "r-9", "tenant_id": "t1", "kind": "rag",
         "messages": [{"role": "user", "content": "What is the capital of France?"}],
         "max_tokens": 64, "temperature": 0, "retrieval": {"top_k": 3},
         "created_at": "2026-01-31T12:00:00Z", "deadline": 1769860830000,
         "model": null, "attributes": {"session": "s1"}, "someFieldFromTheFuture": [1, 2]}
        """;
    Decoded<InferenceRequest> decoded = requests.decode(json.getBytes(UTF_8));

    assertThat(decoded.failure()).isNull();
    InferenceRequest request = decoded.value();
    assertThat(request.getRequestId()).isEqualTo("r-9");
    assertThat(request.getKind()).isEqualTo(RequestKind.RAG);
    assertThat(request.getMessages().get(0).getRole()).isEqualTo(ChatRole.USER);
    assertThat(request.getMaxTokens()).isEqualTo(64);
    assertThat(request.getTemperature()).isEqualTo(0.0);
    assertThat(request.getRetrieval().getTopK()).isEqualTo(3);
    assertThat(request.getRetrieval().getHybrid()).isFalse();
    assertThat(request.getCreatedAt()).isEqualTo(Instant.parse("2026-01-31T12:00:00Z"));
    assertThat(request.getDeadline()).isEqualTo(Instant.ofEpochMilli(1769860830000L));
    assertThat(request.getModel()).isNull();
    assertThat(request.getCacheMode()).isEqualTo(CacheMode.DEFAULT);
    assertThat(request.getStop()).isEmpty();
    assertThat(request.getAttributes()).containsEntry("session", "s1");
  }

  @Test
  void minimalJsonGetsEveryDefault() {
    Decoded<InferenceRequest> decoded =
        requests.decode(
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"prompt\":\"hi\"}".getBytes(UTF_8));
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.value().getKind()).isEqualTo(RequestKind.CHAT);
    assertThat(decoded.value().getMessages()).isEmpty();
    assertThat(decoded.value().getCreatedAt()).isNull();
  }

  @Test
  void explicitNullForAFieldWithADefaultMeansTheDefault() {
    Decoded<InferenceRequest> decoded =
        requests.decode(
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"kind\":null,\"stop\":null}".getBytes(UTF_8));
    assertThat(decoded.failure()).isNull();
    assertThat(decoded.value().getKind()).isEqualTo(RequestKind.CHAT);
  }

  @Test
  void acceptsByteOrderMarkAndLeadingWhitespace() {
    byte[] json = "\uFEFF \n {\"requestId\":\"r\",\"tenantId\":\"t\"}".getBytes(UTF_8);
    assertThat(requests.decode(json).isOk()).isTrue();
  }

  static Stream<Arguments> badInputs() {
    return Stream.of(
        Arguments.of("empty", new byte[0], DecodeFailure.Reason.EMPTY, "empty"),
        Arguments.of(
            "blank", "   ".getBytes(UTF_8), DecodeFailure.Reason.UNKNOWN_ENCODING, "first"),
        Arguments.of(
            "plain text", "hello".getBytes(UTF_8), DecodeFailure.Reason.UNKNOWN_ENCODING, "68 65"),
        Arguments.of(
            "json array",
            "[{\"requestId\":\"r\"}]".getBytes(UTF_8),
            DecodeFailure.Reason.UNKNOWN_ENCODING,
            "JSON object"),
        Arguments.of(
            "broken json",
            "{\"requestId\": \"r\", ".getBytes(UTF_8),
            DecodeFailure.Reason.MALFORMED_JSON,
            "not valid JSON"),
        Arguments.of(
            "trailing garbage",
            "{\"requestId\":\"r\",\"tenantId\":\"t\"} {}".getBytes(UTF_8),
            DecodeFailure.Reason.MALFORMED_JSON,
            "not valid JSON"),
        Arguments.of(
            "duplicate key",
            "{\"requestId\":\"r\",\"requestId\":\"s\",\"tenantId\":\"t\"}".getBytes(UTF_8),
            DecodeFailure.Reason.MALFORMED_JSON,
            "Duplicate field 'requestId'"),
        Arguments.of(
            "missing required",
            "{\"requestId\":\"r\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.tenantId: required field is missing"),
        Arguments.of(
            "null required",
            "{\"requestId\":\"r\",\"tenantId\":null}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.tenantId: must not be null"),
        Arguments.of(
            "wrong type",
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"maxTokens\":\"ten\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.maxTokens: expected null or int, got \"ten\""),
        Arguments.of(
            "number for string",
            "{\"requestId\":7,\"tenantId\":\"t\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.requestId: expected a string, got 7"),
        Arguments.of(
            "int overflow",
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"maxTokens\":9999999999}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.maxTokens"),
        Arguments.of(
            "unknown enum",
            ("{\"requestId\":\"r\",\"tenantId\":\"t\",\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}")
                .getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.messages[0].role: expected one of [SYSTEM, USER, ASSISTANT, TOOL], got \"bot\""),
        Arguments.of(
            "bad timestamp",
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"createdAt\":\"yesterday\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.createdAt"),
        Arguments.of(
            "timestamp beyond epoch millis",
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"createdAt\":\"+1000000000-01-01T00:00:00Z\"}"
                .getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.createdAt: timestamp out of range"),
        Arguments.of(
            "lone surrogate, which UTF-8 would turn into '?'",
            "{\"requestId\":\"r\\ud800\",\"tenantId\":\"t\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "$.requestId: contains an unpaired surrogate"),
        Arguments.of(
            "name and alias",
            "{\"requestId\":\"r\",\"request_id\":\"s\",\"tenantId\":\"t\"}".getBytes(UTF_8),
            DecodeFailure.Reason.INVALID_FIELD,
            "given twice"),
        Arguments.of(
            "NaN",
            "{\"requestId\":\"r\",\"tenantId\":\"t\",\"temperature\":NaN}".getBytes(UTF_8),
            DecodeFailure.Reason.MALFORMED_JSON,
            "not valid JSON"),
        Arguments.of(
            "wrong magic",
            new byte[] {(byte) 0xC3, 0x02, 1, 2, 3, 4, 5, 6, 7, 8, 9},
            DecodeFailure.Reason.UNKNOWN_ENCODING,
            "c3 02"),
        Arguments.of(
            "header only",
            new byte[] {(byte) 0xC3, 0x01, 1, 2},
            DecodeFailure.Reason.MALFORMED_AVRO,
            "truncated single-object header"),
        Arguments.of(
            "unknown fingerprint",
            new byte[] {(byte) 0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 2, 'r'},
            DecodeFailure.Reason.UNKNOWN_SCHEMA,
            "0807060504030201"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badInputs")
  void badInputIsAFailureValueWithAReason(
      String name, byte[] input, DecodeFailure.Reason reason, String messagePart) {
    Decoded<InferenceRequest> decoded = requests.decode(input);
    assertThat(decoded.isOk()).isFalse();
    assertThat(decoded.value()).isNull();
    assertThat(decoded.failure().reason()).isEqualTo(reason);
    assertThat(decoded.failure().message()).contains(messagePart);
    assertThat(decoded.failure().code()).startsWith("decode.");
  }

  @Test
  void invalidJsonStillNamesTheRequestItCameFrom() {
    DecodeFailure failure =
        requests
            .decode(
                "{\"request_id\":\"r-77\",\"tenantId\":\"t\",\"maxTokens\":true}".getBytes(UTF_8))
            .failure();
    assertThat(failure.idHint()).isEqualTo("r-77");
    assertThat(failure.tenantHint()).isEqualTo("t");
  }

  @Test
  void everyTruncationOfAValidAvroMessageFails() {
    byte[] valid = requests.encode(SampleRecords.request());
    for (int length = 1; length < valid.length; length++) {
      Decoded<InferenceRequest> decoded = requests.decode(Arrays.copyOf(valid, length));
      assertThat(decoded.isOk()).as("truncated to %d of %d bytes", length, valid.length).isFalse();
    }
  }

  @Test
  void trailingBytesAfterAnAvroDatumAreRejected() {
    byte[] valid = requests.encode(SampleRecords.request());
    byte[] longer = Arrays.copyOf(valid, valid.length + 3);
    assertThat(requests.decode(longer).failure().message()).contains("trailing bytes");
  }

  @Test
  void aLengthPrefixClaimingGigabytesDoesNotExhaustTheHeap() {
    // A valid header for the current schema, then requestId claiming a 1.5 GB string.
    byte[] header = Arrays.copyOf(requests.encode(SampleRecords.request()), 10);
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    message.writeBytes(header);
    long claimed = 1_500_000_000L;
    long zigzag = claimed << 1;
    while ((zigzag & ~0x7FL) != 0) {
      message.write((int) ((zigzag & 0x7F) | 0x80));
      zigzag >>>= 7;
    }
    message.write((int) zigzag);
    message.writeBytes("abc".getBytes(UTF_8));

    Decoded<InferenceRequest> decoded = requests.decode(message.toByteArray());
    assertThat(decoded.failure().reason()).isEqualTo(DecodeFailure.Reason.MALFORMED_AVRO);
  }

  @Test
  void messagesOverTheLimitAreRejectedUnparsed() {
    RecordCodec<InferenceRequest> small =
        RecordCodec.builder(InferenceRequest.class).maxMessageBytes(1000).build();
    String huge = "x".repeat(2000);
    byte[] json =
        ("{\"requestId\":\"r\",\"tenantId\":\"t\",\"prompt\":\"" + huge + "\"}").getBytes(UTF_8);

    DecodeFailure failure = small.decode(json).failure();
    assertThat(failure.reason()).isEqualTo(DecodeFailure.Reason.TOO_LARGE);
    assertThat(failure.message()).contains("limit is 1000");
  }

  @Test
  void largeStringsWithinTheLimitDecode() {
    String large = "ä".repeat(200_000); // 400 kB of UTF-8, under the 1 MiB default
    InferenceRequest request =
        InferenceRequest.newBuilder(SampleRecords.request()).setPrompt(large).build();
    assertThat(requests.decode(requests.encode(request)).value().getPrompt()).isEqualTo(large);
    assertThat(requests.decode(requests.encodeJson(request)).value().getPrompt()).isEqualTo(large);
  }

  @Test
  @Timeout(60)
  void randomAndMutatedBytesNeverThrow() {
    Random random = new Random(7);
    byte[] valid = requests.encode(SampleRecords.request());
    byte[] validJson = requests.encodeJson(SampleRecords.request());
    int failures = 0;
    for (int i = 0; i < 5_000; i++) {
      byte[] input;
      switch (i % 3) {
        case 0:
          input = new byte[random.nextInt(64)];
          random.nextBytes(input);
          break;
        case 1:
          input = valid.clone();
          input[10 + random.nextInt(input.length - 10)] = (byte) random.nextInt(256);
          break;
        default:
          input = validJson.clone();
          input[random.nextInt(input.length)] = (byte) random.nextInt(256);
      }
      Decoded<InferenceRequest> decoded = requests.decode(input);
      assertThat(decoded.isOk() ^ decoded.failure() != null).isTrue();
      if (!decoded.isOk()) {
        failures++;
      }
    }
    // Random prefixes essentially never form a valid message; most mutations break one.
    assertThat(failures).isGreaterThan(2_000);
  }
}
