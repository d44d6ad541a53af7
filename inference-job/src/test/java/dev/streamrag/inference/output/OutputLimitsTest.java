package dev.streamrag.inference.output;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.RecordCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputLimitsTest {
  private static final int PRODUCER_LIMIT = 1024 * 1024;

  /** The worst text for JSON: control characters, each escaped as six bytes. */
  private static String controls(int chars) {
    return "\u0001".repeat(chars);
  }

  private static InferenceResponse huge() {
    List<Citation> citations = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      citations.add(new Citation(controls(2_000), controls(2_000), 0.5, controls(2_000), null));
    }
    Map<String, String> attributes = new HashMap<>();
    for (int i = 0; i < 64; i++) {
      attributes.put("k" + i, controls(4_000));
    }
    return InferenceResponse.newBuilder()
        .setRequestId("r")
        .setTenantId("t")
        .setStatus(ResponseStatus.OK)
        .setKind(RequestKind.RAG)
        .setText(controls(400_000))
        .setCitations(citations)
        .setTraceId(controls(10_000))
        .setAttributes(attributes)
        .setCompletedAt(Instant.EPOCH)
        .build();
  }

  @Test
  void aResponseOfEscapedCharactersFitsTheProducerLimitInEveryFormat() {
    InferenceResponse response = huge();
    assertThat(OutputLimits.fit(response)).isTrue();
    RecordCodec<InferenceResponse> codec = RecordCodec.of(InferenceResponse.class);
    for (RecordFormat format : RecordFormat.values()) {
      assertThat(format.encode(codec, response, 1).length)
          .as(format.name())
          .isLessThan(PRODUCER_LIMIT);
    }
  }

  @Test
  void anOrdinaryResponseIsLeftAlone() {
    InferenceResponse response = huge();
    response.setText("a short answer");
    response.setCitations(List.of());
    response.setAttributes(Map.of("k", "v"));
    response.setTraceId("trace");
    assertThat(OutputLimits.fit(response)).isFalse();
    assertThat(response.getAttributes()).containsEntry("k", "v");
  }
}
