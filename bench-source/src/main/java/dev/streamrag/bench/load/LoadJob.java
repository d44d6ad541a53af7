package dev.streamrag.bench.load;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.KafkaClients;
import dev.streamrag.jobs.kafka.AvroRecordSerializer;
import dev.streamrag.schemas.InferenceRequest;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** The load job: the scenario's requests, on schedule, to the requests topic. */
public final class LoadJob {
  public static final String NAME = "streamrag-bench-source";

  private LoadJob() {}

  /** Adds the load to {@code env}; returns the requests (tests may tap them). */
  public static DataStream<InferenceRequest> build(
      StreamExecutionEnvironment env, Configuration config, Scenario scenario) {
    int requests = Schedule.of(scenario).size();
    DataStream<InferenceRequest> load =
        env.fromSource(
                new LoadGeneratorSource(scenario, requests),
                WatermarkStrategy.noWatermarks(),
                "load")
            .uid("load")
            // One schedule for the run: one reader paces it (thousands of requests/s).
            .setParallelism(1);
    load.sinkTo(sink(config)).name("requests").uid("requests").setParallelism(1);
    return load;
  }

  /**
   * At least once: a request id is unique within a run, so a request sent twice after a restore
   * shows as a duplicate in the report rather than as load.
   */
  static KafkaSink<InferenceRequest> sink(Configuration config) {
    Properties producer = new Properties();
    // Each request is due at its own time: send it now, do not wait to fill a batch.
    producer.setProperty("linger.ms", "0");
    return KafkaSink.<InferenceRequest>builder()
        .setKafkaProducerConfig(KafkaClients.from(config).toProperties())
        .setRecordSerializer(
            new AvroRecordSerializer<>(
                InferenceRequest.class,
                config.get(BenchOptions.REQUESTS_TOPIC),
                InferenceRequest::getRequestId))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .setKafkaProducerConfig(producer)
        .build();
  }
}
