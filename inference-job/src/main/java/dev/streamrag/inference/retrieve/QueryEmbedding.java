package dev.streamrag.inference.retrieve;

import dev.streamrag.inference.Stages;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.util.ArrayList;
import java.util.List;

/** What the shared embedding step reads from and writes to a request. */
public final class QueryEmbedding {
  private QueryEmbedding() {}

  /** The question to embed. */
  public static String text(InFlightRequest request) {
    return request.getQuestion();
  }

  /** Attaches the vector; the embedding stage's time includes the wait for its batch. */
  public static InFlightRequest attach(InFlightRequest request, float[] vector) {
    List<Float> floats = new ArrayList<>(vector.length);
    for (float value : vector) {
      floats.add(value);
    }
    request.setQueryVector(floats);
    request.getTimings().setEmbedMs(Stages.lap(request));
    return request;
  }

  /**
   * Ends a request whose question could not be embedded, even alone: ERROR, retryable (a model
   * failure may be transient), and the job goes on with the others.
   */
  public static InFlightRequest failed(InFlightRequest request, Exception error) {
    request.getTimings().setEmbedMs(Stages.lap(request));
    return Stages.fail(
        request,
        ResponseStatus.ERROR,
        "embedding.failed",
        "the question could not be embedded: " + error,
        "embed",
        true);
  }

  static float[] array(List<Float> vector) {
    float[] array = new float[vector.size()];
    for (int i = 0; i < array.length; i++) {
      array[i] = vector.get(i);
    }
    return array;
  }
}
