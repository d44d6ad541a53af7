package dev.streamrag.inference.output;

import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ids.Identifiers;
import java.util.Map;

/**
 * Keeps a response (and the latency record made from it) within a size Kafka always takes, whatever
 * a request or an upstream brought: a record over the producer's limit would fail the exactly-once
 * sink, and with it the task, and replay the request forever. The validator refuses oversized
 * echoed fields already; this is the last line, for what slips through (an answer of enormous
 * citations, an upstream error body).
 */
final class OutputLimits {
  private OutputLimits() {}

  /**
   * Under the producers' 1 MiB ({@code max.request.size}, set in {@link
   * dev.streamrag.inference.InferenceJob}) even as JSON made only of control characters, each
   * escaped as six bytes ({@code \u0001}): 150 Ki chars x 6 = 900 KiB, plus field names.
   */
  static final int MAX_CHARS = 150 * 1024;

  private static final int MAX_TEXT_CHARS = 96 * 1024;
  private static final int MAX_FIELD_CHARS = 1024;

  /** Cuts {@code response} down if it may be too large; returns whether it did. */
  static boolean fit(InferenceResponse response) {
    if (chars(response) <= MAX_CHARS) {
      return false;
    }
    response.setAttributes(Map.of());
    response.setTraceId(null);
    if (response.getText() != null && response.getText().length() > MAX_TEXT_CHARS) {
      response.setText(Identifiers.clip(response.getText(), MAX_TEXT_CHARS));
    }
    for (Citation citation : response.getCitations()) {
      citation.setTitle(Identifiers.clip(citation.getTitle(), MAX_FIELD_CHARS));
      citation.setSource(Identifiers.clip(citation.getSource(), MAX_FIELD_CHARS));
      citation.setDocId(Identifiers.clip(citation.getDocId(), MAX_FIELD_CHARS));
      citation.setChunkId(Identifiers.clip(citation.getChunkId(), MAX_FIELD_CHARS));
    }
    ErrorDetail error = response.getError();
    if (error != null) {
      error.setMessage(Identifiers.clip(error.getMessage(), MAX_FIELD_CHARS));
    }
    response.setModel(Identifiers.clip(response.getModel(), MAX_FIELD_CHARS));
    response.setFinishReason(Identifiers.clip(response.getFinishReason(), MAX_FIELD_CHARS));
    response.setLlmEndpoint(Identifiers.clip(response.getLlmEndpoint(), MAX_FIELD_CHARS));
    return true;
  }

  /** The characters of the response's variable-length fields: a bound on its size, cheaply. */
  static long chars(InferenceResponse response) {
    long chars = length(response.getRequestId()) + length(response.getTenantId());
    chars += length(response.getText()) + length(response.getTraceId());
    chars += length(response.getModel()) + length(response.getFinishReason());
    chars += length(response.getLlmEndpoint()) + length(response.getLlmPool());
    for (Map.Entry<String, String> attribute : response.getAttributes().entrySet()) {
      chars += length(attribute.getKey()) + length(attribute.getValue());
    }
    for (Citation citation : response.getCitations()) {
      chars += length(citation.getDocId()) + length(citation.getChunkId());
      chars += length(citation.getTitle()) + length(citation.getSource());
    }
    if (response.getError() != null) {
      chars += length(response.getError().getMessage()) + length(response.getError().getCode());
    }
    return chars;
  }

  private static long length(String text) {
    return text == null ? 0 : text.length();
  }
}
