package dev.streamrag.inference;

import dev.streamrag.schemas.internal.InFlightRequest;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/** Sends finished requests to the {@link Stages#FINISHED} side output; the rest go on. */
public final class SplitFinished extends ProcessFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  @Override
  public void processElement(
      InFlightRequest request, Context context, Collector<InFlightRequest> out) {
    if (Stages.isFinished(request)) {
      context.output(Stages.FINISHED, request);
    } else {
      out.collect(request);
    }
  }
}
