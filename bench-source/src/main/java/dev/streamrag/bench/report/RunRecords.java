package dev.streamrag.bench.report;

import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import java.util.List;
import java.util.Map;

/**
 * What a run left in Kafka: its requests (by id, first copy) and the response to each (first copy),
 * plus how many extra copies of either were seen.
 */
public record RunRecords(
    Map<String, InferenceRequest> sent,
    Map<String, InferenceResponse> answered,
    int duplicateRequests,
    int duplicateResponses) {

  /** Sent requests with no response. */
  public List<String> lost() {
    return sent.keySet().stream().filter(id -> !answered.containsKey(id)).sorted().toList();
  }
}
