package dev.streamrag.jobs.batch;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** Adds a {@link MicroBatchOperator} to a stream. */
public final class MicroBatching {
  private MicroBatching() {}

  /**
   * {@code input} through {@code function} in micro-batches; the operator is named and given {@code
   * name} as its uid, so its place in savepoints is stable.
   */
  public static <IN, OUT> SingleOutputStreamOperator<OUT> apply(
      DataStream<IN> input,
      String name,
      BatchFunction<IN, OUT> function,
      BatchSettings settings,
      TypeInformation<OUT> outputType) {
    return input
        .transform(name, outputType, new MicroBatchOperator<>(function, settings))
        .uid(name);
  }
}
