package dev.streamrag.gateway.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.gateway.Pieces;
import dev.streamrag.schemas.ResponseStatus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobOutcomeErrorsTest {
  private final Pieces pieces = new Pieces("gw-1", "acme");

  @ParameterizedTest(name = "{0} {1} retryable={2} -> {3} {4}")
  @CsvSource({
    "REJECTED, validation.prompt_too_long, false, 400, context_length_exceeded, messages",
    "REJECTED, validation.unknown_model, false, 404, model_not_found, model",
    "REJECTED, validation.max_tokens, false, 400, validation.max_tokens, max_tokens",
    "REJECTED, validation.temperature, false, 400, validation.temperature, temperature",
    "REJECTED, validation.top_p, false, 400, validation.top_p, top_p",
    "REJECTED, validation.top_k, false, 400, validation.top_k, streamrag.retrieval.top_k",
    "REJECTED, validation.filters_unsupported, false, 400, validation.filters_unsupported, streamrag.retrieval.filters",
    "REJECTED, validation.unsupported_kind, false, 400, validation.unsupported_kind, streamrag.kind",
    "REJECTED, validation.empty, false, 400, validation.empty, messages",
    "REJECTED, validation.no_question, false, 400, validation.no_question, messages",
    "REJECTED, validation.missing_tenant, false, 400, validation.missing_tenant, ",
    "REJECTED, validation.missing_request_id, false, 400, validation.missing_request_id, ",
    "TIMEOUT, validation.deadline_passed, false, 504, validation.deadline_passed, ",
    "TIMEOUT, llm.timeout, false, 504, llm.timeout, ",
    "TIMEOUT, retrieval.timeout, false, 504, retrieval.timeout, ",
    "ERROR, llm.http_500, false, 502, llm.http_500, ",
    "ERROR, llm.http_503, true, 503, llm.http_503, ",
    "ERROR, llm.stream, false, 502, llm.stream, ",
    "ERROR, llm.connection, true, 503, llm.connection, ",
    "ERROR, retrieval.unavailable, true, 503, retrieval.unavailable, ",
    "ERROR, internal.unfinished, false, 502, internal.unfinished, ",
  })
  void endStatusAndCodeMapToHttp(
      ResponseStatus status,
      String code,
      boolean retryable,
      int httpStatus,
      String openAiCode,
      String param) {
    ApiError error = JobOutcomeErrors.of(pieces.endFailed(1, 1, status, code, retryable));
    assertThat(error.status()).isEqualTo(httpStatus);
    assertThat(error.code()).isEqualTo(openAiCode);
    assertThat(error.param()).isEqualTo(param);
    assertThat(error.message()).isEqualTo("job says " + code);
    assertThat(error.type()).isEqualTo(httpStatus < 500 ? "invalid_request_error" : "server_error");
  }

  @org.junit.jupiter.api.Test
  void okIsNoErrorAndAMissingDetailStillExplains() {
    assertThat(JobOutcomeErrors.of(pieces.endOk(1, 1))).isNull();
    var end = pieces.endFailed(1, 1, ResponseStatus.ERROR, "x", false);
    end.setError(null);
    ApiError error = JobOutcomeErrors.of(end);
    assertThat(error.status()).isEqualTo(502);
    assertThat(error.code()).isEqualTo("upstream_error");
    assertThat(error.message()).contains("ERROR");
  }
}
