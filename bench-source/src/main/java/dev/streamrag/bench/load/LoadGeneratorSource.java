package dev.streamrag.bench.load;

import dev.streamrag.schemas.InferenceRequest;
import java.util.Collection;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimitedSourceReader;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratingIteratorSourceReader;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

/**
 * Flink's {@link DataGeneratorSource} (numbered requests, splits, checkpoints) with a reader paced
 * by the scenario's {@link Schedule} instead of a fixed rate, and each request stamped with its
 * intended send time. Run it at parallelism 1: the schedule is the whole run's.
 */
public final class LoadGeneratorSource
    implements Source<InferenceRequest, NumberSequenceSplit, Collection<NumberSequenceSplit>>,
        ResultTypeQueryable<InferenceRequest> {
  private static final long serialVersionUID = 1L;

  private final Scenario scenario;
  private final DataGeneratorSource<InferenceRequest> numbers;

  /**
   * @param requests how many requests the schedule holds ({@code Schedule.of(scenario).size()})
   */
  public LoadGeneratorSource(Scenario scenario, long requests) {
    this.scenario = scenario;
    // Only its enumerator and serializers are used; readers are built below.
    this.numbers =
        new DataGeneratorSource<>(
            index -> {
              throw new IllegalStateException("not used");
            },
            requests,
            getProducedType());
  }

  @Override
  public SourceReader<InferenceRequest, NumberSequenceSplit> createReader(
      SourceReaderContext context) {
    ArrivalClock clock = new ArrivalClock(Schedule.of(scenario));
    return new RateLimitedSourceReader<>(
        new GeneratingIteratorSourceReader<>(context, new Generator(scenario, clock)),
        new ScheduledRateLimiter(clock));
  }

  @Override
  public Boundedness getBoundedness() {
    return Boundedness.BOUNDED;
  }

  @Override
  public SplitEnumerator<NumberSequenceSplit, Collection<NumberSequenceSplit>> createEnumerator(
      SplitEnumeratorContext<NumberSequenceSplit> context) {
    return numbers.createEnumerator(context);
  }

  @Override
  public SplitEnumerator<NumberSequenceSplit, Collection<NumberSequenceSplit>> restoreEnumerator(
      SplitEnumeratorContext<NumberSequenceSplit> context,
      Collection<NumberSequenceSplit> checkpoint) {
    return numbers.restoreEnumerator(context, checkpoint);
  }

  @Override
  public SimpleVersionedSerializer<NumberSequenceSplit> getSplitSerializer() {
    return numbers.getSplitSerializer();
  }

  @Override
  public SimpleVersionedSerializer<Collection<NumberSequenceSplit>>
      getEnumeratorCheckpointSerializer() {
    return numbers.getEnumeratorCheckpointSerializer();
  }

  @Override
  public TypeInformation<InferenceRequest> getProducedType() {
    return new AvroTypeInfo<>(InferenceRequest.class);
  }

  /** Request {@code index}, stamped with the time the clock intended for it. */
  private static final class Generator implements GeneratorFunction<Long, InferenceRequest> {
    private final Scenario scenario;
    private final ArrivalClock clock;
    private transient RequestFactory factory;

    Generator(Scenario scenario, ArrivalClock clock) {
      this.scenario = scenario;
      this.clock = clock;
    }

    @Override
    public void open(SourceReaderContext readerContext) {
      factory = new RequestFactory(scenario);
    }

    @Override
    public InferenceRequest map(Long index) {
      int i = index.intValue();
      return factory.create(
          index,
          clock.take(index),
          clock.schedule().promptChars()[i],
          clock.schedule().maxTokens()[i]);
    }
  }
}
