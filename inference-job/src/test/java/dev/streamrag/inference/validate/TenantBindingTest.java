package dev.streamrag.inference.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.inference.InferenceJob;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.kafka.DecodingDeserializer;
import dev.streamrag.jobs.kafka.IsolatedTenants;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * A request's tenant is its topic's for isolated tenants; the shared topic cannot speak for one.
 */
class TenantBindingTest {
  private final TenantBinding binding =
      new TenantBinding(
          new DecodingDeserializer<>(InferenceRequest.class, "test"),
          "rag.requests",
          new IsolatedTenants(Set.of("acme")),
          "test");

  private List<Either<DeadLetter, InferenceRequest>> read(String topic, String json)
      throws Exception {
    List<Either<DeadLetter, InferenceRequest>> out = new ArrayList<>();
    binding.deserialize(
        new ConsumerRecord<>(topic, 0, 0L, null, json.getBytes(StandardCharsets.UTF_8)),
        new ListCollector<>(out));
    return out;
  }

  private static String request(String id, String tenant) {
    return "{\"requestId\":\""
        + id
        + "\",\"tenantId\":\""
        + tenant
        + "\",\"kind\":\"CHAT\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  }

  @Test
  void onItsOwnTopicARequestIsTheTopicsTenantsAndMayNotNameAnother() throws Exception {
    assertThat(read("rag.requests.acme", request("r1", "")).get(0).right().getTenantId())
        .isEqualTo("acme");
    assertThat(read("rag.requests.acme", request("r2", "acme")).get(0).isRight()).isTrue();
    DeadLetter mismatch = read("rag.requests.acme", request("r3", "globex")).get(0).left();
    assertThat(mismatch.getReasonCode()).isEqualTo("tenant.mismatch");
    assertThat(mismatch.getTenantId()).as("answered to its sender").isEqualTo("acme");
    assertThat(mismatch.getRequestId()).isEqualTo("r3");
    DeadLetter garbage = read("rag.requests.acme", "{not json").get(0).left();
    assertThat(garbage.getTenantId()).isEqualTo("acme");
  }

  @Test
  void theSharedTopicCannotSpeakForAnIsolatedTenantAndItsRefusalIsAnsweredToNoOne()
      throws Exception {
    DeadLetter isolated = read("rag.requests", request("r4", "acme")).get(0).left();
    assertThat(isolated.getReasonCode()).isEqualTo("tenant.isolated");
    assertThat(isolated.getTenantId()).as("no response goes to acme's topics").isNull();
    assertThat(read("rag.requests", request("r5", "globex")).get(0).right().getTenantId())
        .as("other tenants come through the shared topic as before")
        .isEqualTo("globex");
  }

  @Test
  void aReplyTopicThatIsAnIsolatedTenantsOwnIsRefusedAtStart() {
    var config =
        JobConfig.load(
            new String[] {
              "--tenancy.isolated-tenants", "acme",
              "--pieces.reply-topics", "gateway.replies;rag.pieces.acme"
            },
            Map.of(),
            InferenceOptions.ALL);
    assertThatThrownBy(() -> new InferenceJob(config))
        .hasMessageContaining("rag.pieces.acme")
        .hasMessageContaining("isolated tenant");
  }
}
