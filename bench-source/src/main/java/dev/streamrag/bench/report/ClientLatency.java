package dev.streamrag.bench.report;

import dev.streamrag.bench.client.ClientClock;
import dev.streamrag.bench.client.Receipt;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;

/**
 * One request's latencies as its client observed them (ms from the intended send time), from the
 * client's receipt; null where the client did not see that moment.
 *
 * @param ttft the first text arrived (a whole cached answer is its first text)
 * @param e2e the streamed answer's END arrived
 * @param committed the committed response became readable with read_committed
 * @param tpot time per output token after the first, as received
 * @param overheadTtft the pipeline's share of the TTFT: ttft − the LLM's own TTFT (LLM calls only)
 */
public record ClientLatency(
    Double ttft, Double e2e, Double committed, Double tpot, Double overheadTtft) {
  public static final ClientLatency NONE = new ClientLatency(null, null, null, null, null);

  public static ClientLatency of(
      InferenceRequest request, InferenceResponse response, Receipt receipt) {
    if (receipt == null) {
      return NONE;
    }
    long intended = intendedMicros(request, receipt);
    if (intended == 0) {
      return NONE;
    }
    Double e2e = since(intended, receipt.endMicros());
    long firstText =
        receipt.firstTextMicros() > 0 ? receipt.firstTextMicros() : receipt.endMicros();
    Double ttft = since(intended, firstText);
    Double committed = since(intended, receipt.committedMicros());
    Double tpot = null;
    if (response.getUsage() != null
        && response.getUsage().getCompletionTokens() > 1
        && receipt.firstTextMicros() > 0
        && receipt.endMicros() > receipt.firstTextMicros()) {
      tpot =
          (receipt.endMicros() - receipt.firstTextMicros())
              / 1000.0
              / (response.getUsage().getCompletionTokens() - 1);
    }
    Double overhead = null;
    if (ttft != null
        && response.getCacheHit() == CacheHitKind.NONE
        && response.getTimings() != null
        && response.getTimings().getTtftMs() != null) {
      overhead = ttft - response.getTimings().getTtftMs();
    }
    return new ClientLatency(ttft, e2e, committed, tpot, overhead);
  }

  /**
   * When the client meant to send the request, in epoch µs: its own stamp (HTTP), else the load's
   * µs attribute, else {@code createdAt} (ms).
   */
  public static long intendedMicros(InferenceRequest request, Receipt receipt) {
    if (receipt != null && receipt.sentMicros() > 0) {
      return receipt.sentMicros();
    }
    String micros = request.getAttributes().get(RequestFactory.INTENDED_MICROS);
    if (micros != null) {
      try {
        return Long.parseLong(micros);
      } catch (NumberFormatException e) {
        // fall back to createdAt
      }
    }
    return request.getCreatedAt() == null ? 0 : ClientClock.micros(request.getCreatedAt());
  }

  /** The value of a client stage by its name in {@code LatencyStages.CLIENT}. */
  public Double stage(String name) {
    return switch (name) {
      case "ttft" -> ttft;
      case "e2e" -> e2e;
      case "committed" -> committed;
      case "tpot_client" -> tpot;
      case "overhead_ttft" -> overheadTtft;
      default -> throw new IllegalArgumentException("no client stage " + name);
    };
  }

  private static Double since(long from, long at) {
    return at == 0 ? null : Math.max(0, (at - from) / 1000.0);
  }
}
