package dev.streamrag.jobs.kafka;

import dev.streamrag.schemas.DeadLetter;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Passes decoded records on and sends dead letters to the {@link #DEAD_LETTERS} side output, where
 * the job writes them to the dead-letter topic.
 */
public final class SplitDeadLetters<T> extends ProcessFunction<Either<DeadLetter, T>, T> {
  private static final long serialVersionUID = 1L;

  /** Records that could not be processed, with the reason. */
  public static final OutputTag<DeadLetter> DEAD_LETTERS =
      new OutputTag<>("dead-letters", new AvroTypeInfo<>(DeadLetter.class));

  @Override
  public void processElement(Either<DeadLetter, T> element, Context context, Collector<T> out) {
    if (element.isRight()) {
      out.collect(element.right());
    } else {
      context.output(DEAD_LETTERS, element.left());
    }
  }
}
