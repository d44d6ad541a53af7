package dev.streamrag.gateway.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.gateway.Pieces;
import dev.streamrag.gateway.openai.ApiError.Retry;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.ResponseStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobOutcomeErrorsTest {
  private final Pieces pieces = new Pieces("gw-1", "acme");

  @ParameterizedTest(name = "{0} {1} retryable={2} -> {3} {4}")
  @CsvSource({
    "REJECTED, validation.prompt_too_long, false, 400, context_length_exceeded, messages, UNSAID",
    "REJECTED, validation.unknown_model, false, 404, model_not_found, model, UNSAID",
    "REJECTED, validation.max_tokens, false, 400, validation.max_tokens, max_tokens, UNSAID",
    "REJECTED, validation.temperature, false, 400, validation.temperature, temperature, UNSAID",
    "REJECTED, validation.top_p, false, 400, validation.top_p, top_p, UNSAID",
    "REJECTED, validation.top_k, false, 400, validation.top_k, streamrag.retrieval.top_k, UNSAID",
    "REJECTED, validation.filters_unsupported, false, 400, validation.filters_unsupported, streamrag.retrieval.filters, UNSAID",
    "REJECTED, validation.unsupported_kind, false, 400, validation.unsupported_kind, streamrag.kind, UNSAID",
    "REJECTED, validation.empty, false, 400, validation.empty, messages, UNSAID",
    "REJECTED, validation.no_question, false, 400, validation.no_question, messages, UNSAID",
    "REJECTED, validation.missing_tenant, false, 400, validation.missing_tenant, , UNSAID",
    "REJECTED, validation.missing_request_id, false, 400, validation.missing_request_id, , UNSAID",
    "TIMEOUT, validation.deadline_passed, false, 504, validation.deadline_passed, , NEVER",
    "TIMEOUT, llm.timeout, false, 504, llm.timeout, , NEVER",
    "TIMEOUT, retrieval.timeout, false, 504, retrieval.timeout, , NEVER",
    "ERROR, llm.http_500, false, 502, llm.http_500, , NEVER",
    "ERROR, llm.http_503, true, 503, llm.http_503, , SOON",
    "ERROR, llm.stream, false, 502, llm.stream, , NEVER",
    "ERROR, llm.connection, true, 503, llm.connection, , SOON",
    "ERROR, retrieval.unavailable, true, 503, retrieval.unavailable, , SOON",
    "ERROR, internal.unfinished, false, 502, internal.unfinished, , NEVER",
  })
  void endStatusAndCodeMapToHttp(
      ResponseStatus status,
      String code,
      boolean retryable,
      int httpStatus,
      String openAiCode,
      String param,
      Retry retry) {
    ApiError error = JobOutcomeErrors.of(pieces.endFailed(1, 1, status, code, retryable));
    assertThat(error.status()).isEqualTo(httpStatus);
    assertThat(error.code()).isEqualTo(openAiCode);
    assertThat(error.param()).isEqualTo(param);
    assertThat(error.retry()).isEqualTo(retry);
    assertThat(error.type()).isEqualTo(httpStatus < 500 ? "invalid_request_error" : "server_error");
    if (status == ResponseStatus.REJECTED) {
      assertThat(error.message()).as("written for clients").isEqualTo("job says " + code);
    } else {
      assertThat(error.message()).as("never the job's own text").doesNotContain("job says");
    }
  }

  @Test
  void overTheTenantsQuotaIsA429TheSdksRetryWithTheJobsMessage() {
    AnswerPiece end = pieces.endFailed(1, 1, ResponseStatus.REJECTED, "quota.exceeded", true);
    end.setError(
        ErrorDetail.newBuilder(end.getError())
            .setMessage("over this tenant's rate quota of 4 requests/s (burst 4): retry later")
            .build());
    ApiError error = JobOutcomeErrors.of(end);
    assertThat(error.status()).isEqualTo(429);
    assertThat(error.type()).isEqualTo("rate_limit_error");
    assertThat(error.code()).isEqualTo("quota.exceeded");
    assertThat(error.retry()).isEqualTo(Retry.SOON);
    assertThat(error.message())
        .isEqualTo("over this tenant's rate quota of 4 requests/s (burst 4): retry later");
  }

  @ParameterizedTest(name = "{0} {1} -> {3}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          ERROR   | llm.http_500          | false | The language model failed to answer this request.
          ERROR   | llm.http_503          | true  | The language model is unavailable at the moment; retry shortly.
          ERROR   | retrieval.unavailable | true  | Document retrieval is unavailable at the moment; retry shortly.
          ERROR   | embedding.model       | false | Embedding the question failed to answer this request.
          ERROR   | internal.unfinished   | false | The inference job failed to answer this request.
          ERROR   | something.new         | false | The inference job failed to answer this request.
          TIMEOUT | llm.timeout           | false | The language model did not finish before the deadline.
          TIMEOUT | validation.deadline_passed | false | The request did not finish before the deadline.
          """)
  void errorsAndTimeoutsGetAFixedMessagePerCodeFamily(
      ResponseStatus status, String code, boolean retryable, String message) {
    AnswerPiece end = pieces.endFailed(1, 1, status, code, retryable);
    end.setError(
        ErrorDetail.newBuilder(end.getError())
            .setMessage(
                "HTTP 500 from http://10.0.0.7:8000/v1: {\"detail\":\"CUDA out of memory\"}"
                    + " at java.net.SocketInputStream.read")
            .build());
    assertThat(JobOutcomeErrors.of(end).message()).isEqualTo(message);
  }

  @Test
  void aLongRejectionMessageIsCut() {
    AnswerPiece end =
        pieces.endFailed(1, 1, ResponseStatus.REJECTED, "validation.max_tokens", false);
    end.setError(ErrorDetail.newBuilder(end.getError()).setMessage("m".repeat(2000)).build());
    String message = JobOutcomeErrors.of(end).message();
    assertThat(message).hasSize(JobOutcomeErrors.MAX_REJECTED_MESSAGE_CHARS).endsWith("…");
  }

  @Test
  void aCodeThatIsNotAStableCodeIsNotPassedOn() {
    assertThat(JobOutcomeErrors.stableCode("llm.http_503")).isEqualTo("llm.http_503");
    assertThat(JobOutcomeErrors.stableCode("Connection refused: 10.0.0.7")).isNull();
    assertThat(JobOutcomeErrors.stableCode("x".repeat(65))).isNull();
    AnswerPiece end = pieces.endFailed(1, 1, ResponseStatus.ERROR, "<html>", false);
    assertThat(JobOutcomeErrors.of(end).code()).isEqualTo("upstream_error");
  }

  @Test
  void okIsNoErrorAndAMissingDetailStillExplains() {
    assertThat(JobOutcomeErrors.of(pieces.endOk(1, 1))).isNull();
    AnswerPiece end = pieces.endFailed(1, 1, ResponseStatus.ERROR, "x", false);
    end.setError(null);
    ApiError error = JobOutcomeErrors.of(end);
    assertThat(error.status()).isEqualTo(502);
    assertThat(error.code()).isEqualTo("upstream_error");
    assertThat(error.message()).isEqualTo("The inference job failed to answer this request.");
    AnswerPiece rejected = pieces.endFailed(1, 1, ResponseStatus.REJECTED, "x", false);
    rejected.setError(null);
    assertThat(JobOutcomeErrors.of(rejected).message())
        .isEqualTo("The request was rejected (status REJECTED).");
  }
}
