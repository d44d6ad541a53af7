package dev.streamrag.jobs.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.RecordCodec;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class DecodingDeserializerTest {
  private final DecodingDeserializer<InferenceRequest> deserializer =
      new DecodingDeserializer<>(InferenceRequest.class, 4096, "test-job");

  private List<Either<DeadLetter, InferenceRequest>> deserialize(
      ConsumerRecord<byte[], byte[]> record) throws java.io.IOException {
    List<Either<DeadLetter, InferenceRequest>> out = new ArrayList<>();
    deserializer.deserialize(
        record,
        new Collector<>() {
          @Override
          public void collect(Either<DeadLetter, InferenceRequest> value) {
            out.add(value);
          }

          @Override
          public void close() {}
        });
    return out;
  }

  @Test
  void validJsonAndAvroBecomeRights() throws Exception {
    byte[] json = "{\"requestId\":\"r1\",\"tenantId\":\"t\",\"prompt\":\"hi\"}".getBytes(UTF_8);
    InferenceRequest fromJson =
        deserialize(new ConsumerRecord<>("in", 0, 5, null, json)).get(0).right();
    byte[] avro = RecordCodec.of(InferenceRequest.class).encode(fromJson);

    List<Either<DeadLetter, InferenceRequest>> out =
        deserialize(new ConsumerRecord<>("in", 0, 6, null, avro));
    assertThat(out).hasSize(1);
    assertThat(out.get(0).isRight()).isTrue();
    assertThat(out.get(0).right()).isEqualTo(fromJson);
  }

  @Test
  void badRecordsBecomeDeadLettersThatKeepBytesAndOrigin() throws Exception {
    byte[] payload =
        "{\"requestId\":\"r9\",\"tenantId\":\"t\",\"maxTokens\":\"lots\"}".getBytes(UTF_8);
    ConsumerRecord<byte[], byte[]> record =
        new ConsumerRecord<>("rag.requests", 3, 42, "r9".getBytes(UTF_8), payload);

    DeadLetter dead = deserialize(record).get(0).left();

    assertThat(dead.getReasonCode()).isEqualTo("decode.invalid_field");
    assertThat(dead.getReason()).contains("$.maxTokens");
    assertThat(dead.getStage()).isEqualTo("decode");
    assertThat(dead.getJob()).isEqualTo("test-job");
    assertThat(dead.getTopic()).isEqualTo("rag.requests");
    assertThat(dead.getPartition()).isEqualTo(3);
    assertThat(dead.getOffset()).isEqualTo(42L);
    assertThat(dead.getRequestId()).isEqualTo("r9");
    assertThat(dead.getTenantId()).isEqualTo("t");
    assertThat(dead.getKey().array()).isEqualTo("r9".getBytes(UTF_8));
    assertThat(dead.getPayload().array()).isEqualTo(payload);
    assertThat(dead.getFailedAt()).isNotNull();
  }

  @Test
  void tombstonesAndOversizedRecordsAreDeadLettersToo() throws Exception {
    assertThat(
            deserialize(new ConsumerRecord<>("in", 0, 1, null, null)).get(0).left().getReasonCode())
        .isEqualTo("decode.empty");
    byte[] big =
        ("{\"requestId\":\"r\",\"tenantId\":\"t\",\"prompt\":\"" + "x".repeat(5000) + "\"}")
            .getBytes(UTF_8);
    assertThat(
            deserialize(new ConsumerRecord<>("in", 0, 2, null, big)).get(0).left().getReasonCode())
        .isEqualTo("decode.too_large");
  }

  @Test
  void splitSendsDeadLettersToTheSideOutput() throws Exception {
    byte[] good = "{\"requestId\":\"ok\",\"tenantId\":\"t\"}".getBytes(UTF_8);
    byte[] bad = "garbage".getBytes(UTF_8);
    try (OneInputStreamOperatorTestHarness<Either<DeadLetter, InferenceRequest>, InferenceRequest>
        harness =
            new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new SplitDeadLetters<>()))) {
      harness.open();
      harness.processElement(
          new StreamRecord<>(deserialize(new ConsumerRecord<>("in", 0, 0, null, good)).get(0)));
      harness.processElement(
          new StreamRecord<>(deserialize(new ConsumerRecord<>("in", 0, 1, null, bad)).get(0)));

      assertThat(harness.extractOutputValues())
          .extracting(InferenceRequest::getRequestId)
          .containsExactly("ok");
      var sideOutput = harness.getSideOutput(SplitDeadLetters.DEAD_LETTERS);
      assertThat(sideOutput).hasSize(1);
      assertThat(sideOutput.peek().getValue().getReasonCode()).isEqualTo("decode.unknown_encoding");
      assertThat(sideOutput.peek().getValue().getOffset()).isEqualTo(1L);
    }
  }
}
