package dev.streamrag.inference.retrieve;

import dev.streamrag.schemas.internal.InFlightRequest;
import org.apache.flink.api.common.functions.FilterFunction;

/**
 * RAG requests whose question has no vector yet (none was cached). Only these pass through the
 * embedding micro-batches; the rest must not wait for a batch to fill.
 */
public final class NeedsEmbedding implements FilterFunction<InFlightRequest> {
  private static final long serialVersionUID = 1L;

  private final boolean wanted;

  private NeedsEmbedding(boolean wanted) {
    this.wanted = wanted;
  }

  public static NeedsEmbedding yes() {
    return new NeedsEmbedding(true);
  }

  public static NeedsEmbedding no() {
    return new NeedsEmbedding(false);
  }

  public static boolean needs(InFlightRequest request) {
    return request.getQuestion() != null && request.getQueryVector() == null;
  }

  @Override
  public boolean filter(InFlightRequest request) {
    return needs(request) == wanted;
  }
}
