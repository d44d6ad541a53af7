package dev.streamrag.inference.output;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClientErrorsTest {
  @Test
  void upstreamHttpErrorsKeepTheirStatusAndLoseTheirBody() {
    assertThat(
            ClientErrors.message(
                "llm.http_500",
                "HTTP 500: {\"detail\": \"Traceback ... at /srv/vllm/engine.py, key sk-live-1\"}"))
        .isEqualTo("the LLM server answered HTTP 500");
    assertThat(ClientErrors.message("llm.http_401", "{\"error\": \"Unauthorized\"}"))
        .isEqualTo("the LLM server answered HTTP 401");
  }

  @Test
  void anUpstreamBodyQuotedInsideAnotherFailureIsCutAndSearchFailuresSayOnlyTheirCode() {
    assertThat(
            ClientErrors.message(
                "llm.circuit_open",
                "every endpoint's breaker is open; last failure llm.http_500: Traceback at"
                    + " /srv/engine.py"))
        .isEqualTo("every endpoint's breaker is open; last failure llm.http_500")
        .doesNotContain("Traceback");
    assertThat(
            ClientErrors.message(
                "retrieval.unavailable",
                "OpenSearch refused user streamrag-inference on rag-docs (check"
                    + " ${dir:/etc/streamrag/secrets/opensearch:password})"))
        .isEqualTo("the search service failed (retrieval.unavailable)");
    assertThat(ClientErrors.message("tool.unavailable", "x failed: bad ${env:TOKEN}"))
        .isEqualTo("x failed: bad <secret reference>");
  }

  @Test
  void internalEndpointsAndAddressesAreTakenOut() {
    assertThat(
            ClientErrors.message(
                "embedding.failed",
                "Connection refused: https://opensearch.internal:9200/rag-docs/_search from"
                    + " /10.0.3.7:9200 and vllm-0.vllm:8000"))
        .doesNotContain("opensearch.internal")
        .doesNotContain("10.0.3.7")
        .doesNotContain("vllm-0")
        .contains("Connection refused: <internal endpoint>")
        .contains("<internal address>");
    assertThat(ClientErrors.message("validation.model", "unknown model 'gpt-5'; served: a, b"))
        .as("ordinary messages are unchanged")
        .isEqualTo("unknown model 'gpt-5'; served: a, b");
    assertThat(ClientErrors.message("x", "y".repeat(1000))).hasSizeLessThan(310);
  }

  @Test
  void anEndpointBecomesAStableLabelThatNamesNothing() {
    String label = ClientErrors.endpointLabel("http://10.0.0.5:8000");
    assertThat(label).startsWith("llm-").hasSize(12).doesNotContain("10.0.0.5");
    assertThat(ClientErrors.endpointLabel("http://10.0.0.5:8000")).isEqualTo(label);
    assertThat(ClientErrors.endpointLabel("http://10.0.0.6:8000")).isNotEqualTo(label);
    assertThat(ClientErrors.endpointLabel(null)).isNull();
  }
}
