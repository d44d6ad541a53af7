package dev.streamrag.inference.agent;

import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.internal.InFlightRequest;
import org.apache.flink.api.common.functions.FilterFunction;

/** AGENT requests (or all others): they take the agent loop instead of retrieval and the LLM. */
public final class IsAgent implements FilterFunction<InFlightRequest> {
  private static final long serialVersionUID = 1L;

  private final boolean wanted;

  private IsAgent(boolean wanted) {
    this.wanted = wanted;
  }

  public static IsAgent yes() {
    return new IsAgent(true);
  }

  public static IsAgent no() {
    return new IsAgent(false);
  }

  @Override
  public boolean filter(InFlightRequest request) {
    return (request.getRequest().getKind() == RequestKind.AGENT) == wanted;
  }
}
