package dev.streamrag.bench.metrics;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.KafkaClients;
import dev.streamrag.jobs.kafka.DecodingDeserializer;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.LatencyRecord;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.types.Either;

/**
 * The live half of the latency sink: latency records as they are committed → Flink metrics (see
 * {@link LatencyMetrics}). The report of a finished run is the other half ({@code ReportMain}).
 */
public final class LatencyMetricsJob {
  public static final String NAME = "streamrag-latency-metrics";

  private LatencyMetricsJob() {}

  public static void build(StreamExecutionEnvironment env, Configuration config) {
    Properties consumer = new Properties();
    // Latency records are written in Kafka transactions: count each committed one once.
    consumer.setProperty("isolation.level", "read_committed");
    KafkaSource<Either<DeadLetter, LatencyRecord>> source =
        KafkaSource.<Either<DeadLetter, LatencyRecord>>builder()
            .setProperties(KafkaClients.from(config).toProperties())
            .setTopics(config.get(BenchOptions.LATENCY_TOPIC))
            .setGroupId(NAME)
            .setStartingOffsets(OffsetsInitializer.latest())
            .setProperties(consumer)
            .setDeserializer(new DecodingDeserializer<>(LatencyRecord.class, 1 << 20, NAME))
            .build();
    env.fromSource(source, WatermarkStrategy.noWatermarks(), "latency-records")
        .uid("latency-records")
        .setParallelism(1)
        .filter(Either::isRight)
        .name("decoded")
        .uid("decoded")
        .setParallelism(1)
        .map(Either::right)
        .returns(LatencyRecord.class)
        .name("records")
        .uid("records")
        .setParallelism(1)
        .flatMap(
            new LatencyMetrics(
                config.get(BenchOptions.SLO_TTFT).toMillis(),
                config.get(BenchOptions.SLO_E2E).toMillis()))
        .name("latency-metrics")
        .uid("latency-metrics")
        .setParallelism(1)
        .sinkTo(new DiscardingSink<>())
        .name("discard")
        .setParallelism(1);
  }
}
