package dev.streamrag.jobs.batch;

import java.io.Serializable;
import java.util.List;
import org.apache.flink.api.common.functions.RuntimeContext;

/**
 * Work done on a whole batch at once, such as one model call for many texts. Runs inside {@link
 * MicroBatchOperator}, on the task's thread.
 *
 * @param <IN> elements in
 * @param <OUT> results out, exactly one per element and in the same order
 */
public interface BatchFunction<IN, OUT> extends Serializable {

  /** Acquire per-task resources (a model, a client). Called once before the first batch. */
  default void open(RuntimeContext context) throws Exception {}

  /** One result per element of {@code batch}, in order. */
  List<OUT> apply(List<IN> batch) throws Exception;

  /**
   * The result for an element that could not be processed, even in a batch of its own. By default
   * the error is rethrown, failing the task; a job that can answer the element with an error (the
   * inference job ends the request with ERROR) overrides this, so one poisonous input or a
   * transient model failure does not put the job into a restart loop.
   */
  default OUT failed(IN element, Exception error) throws Exception {
    throw error;
  }

  /** Release what {@link #open} acquired. */
  default void close() throws Exception {}
}
