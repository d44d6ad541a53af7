package dev.streamrag.jobs.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CacheKeysTest {
  private static final RecordCodec<InferenceRequest> CODEC = RecordCodec.of(InferenceRequest.class);

  private static InferenceRequest request(String json) {
    return CODEC.decode(json.getBytes(StandardCharsets.UTF_8)).value();
  }

  private static String key(String tenant, String content, String extra) {
    return CacheKeys.response(
        request(
            "{\"requestId\":\"r\",\"tenantId\":\""
                + tenant
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + content
                + "\"}]"
                + extra
                + "}"),
        "m",
        "v1");
  }

  @Test
  void sameQuestionSameKeyWhateverTheWhitespaceOrRequestId() {
    assertThat(key("acme", "What is X?", "")).isEqualTo(key("acme", "  What  is\\nX? ", ""));
    assertThat(key("acme", "What is X?", "")).startsWith("streamrag:resp:acme:");
  }

  @Test
  void tenantsParametersAndIndexVersionsNeverShareKeys() {
    String base = key("acme", "What is X?", "");
    assertThat(key("globex", "What is X?", "")).isNotEqualTo(base);
    assertThat(key("acme", "What is Y?", "")).isNotEqualTo(base);
    assertThat(key("acme", "What is X?", ",\"temperature\":0.7")).isNotEqualTo(base);
    assertThat(key("acme", "What is X?", ",\"maxTokens\":10")).isNotEqualTo(base);
    InferenceRequest same =
        request(
            "{\"requestId\":\"r\",\"tenantId\":\"acme\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"What is X?\"}]}");
    assertThat(CacheKeys.response(same, "m", "v2")).isNotEqualTo(base);
  }

  @Test
  void embeddingKeysAreScopedByTenantAndModel() {
    String key = CacheKeys.embedding("acme", "all-minilm-l6-v2", "What  is X?");
    assertThat(key).startsWith("streamrag:emb:acme:");
    assertThat(CacheKeys.embedding("acme", "all-minilm-l6-v2", "What is X?")).isEqualTo(key);
    assertThat(CacheKeys.embedding("globex", "all-minilm-l6-v2", "What is X?")).isNotEqualTo(key);
    assertThat(CacheKeys.embedding("acme", "bge-small", "What is X?")).isNotEqualTo(key);
  }
}
