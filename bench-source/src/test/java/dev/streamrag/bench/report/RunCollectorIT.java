package dev.streamrag.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.security.KafkaClientSettings;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The report's reader on a real Kafka: from {@code bench.report-from} on it skips older records of
 * the same run id, partition by partition; without it, it reads the topics from their beginning.
 */
@Timeout(120)
class RunCollectorIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private static final String REQUESTS = "collector-requests";
  private static final String RESPONSES = "collector-responses";
  private static final String RUN = "collector-run";
  private static final Instant NOW = Instant.now();
  private static final Instant HOUR_AGO = NOW.minus(Duration.ofHours(1));

  /**
   * Partition 0 holds an hour-old request and answer ({@code -0}) and then current ones ({@code
   * -1}); partition 1 only an hour-old pair ({@code -2}), so it has nothing from the cut-off on.
   */
  @BeforeAll
  static void writeTwoGenerationsOfOneRun() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(new NewTopic(REQUESTS, 2, (short) 1), new NewTopic(RESPONSES, 2, (short) 1)))
          .all()
          .get();
    }
    RequestFactory factory =
        new RequestFactory(
            Scenario.from(
                JobConfig.load(new String[] {"--bench.run-id", RUN}, Map.of(), BenchOptions.ALL)));
    RecordCodec<InferenceRequest> requests = RecordCodec.of(InferenceRequest.class);
    RecordCodec<InferenceResponse> responses = RecordCodec.of(InferenceResponse.class);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", KAFKA.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      Object[][] layout = {{0, HOUR_AGO}, {0, NOW}, {1, HOUR_AGO}};
      for (int index = 0; index < layout.length; index++) {
        int partition = (Integer) layout[index][0];
        Instant written = (Instant) layout[index][1];
        InferenceRequest request = factory.create(index, written, 200, 16);
        producer.send(
            new ProducerRecord<>(
                REQUESTS, partition, written.toEpochMilli(), null, requests.encode(request)));
        InferenceResponse response =
            InferenceResponse.newBuilder()
                .setRequestId(request.getRequestId())
                .setTenantId(request.getTenantId())
                .setStatus(ResponseStatus.OK)
                .setCompletedAt(written)
                .setAttributes(request.getAttributes())
                .build();
        producer.send(
            new ProducerRecord<>(
                RESPONSES, partition, written.toEpochMilli(), null, responses.encode(response)));
      }
      producer.flush();
    }
  }

  private static RunRecords collect(Instant from) {
    return RunCollector.collect(
        KafkaClientSettings.plaintext(KAFKA.bootstrapServers()),
        REQUESTS,
        RESPONSES,
        from,
        RUN,
        3,
        Duration.ofSeconds(2),
        line -> {});
  }

  @Test
  void fromACutOffOnlyTheLaterRecordsAreRead() {
    RunRecords records = collect(NOW.minus(Duration.ofMinutes(1)));
    assertThat(records.sent()).containsOnlyKeys(RUN + "-1");
    assertThat(records.answered()).containsOnlyKeys(RUN + "-1");
  }

  @Test
  void withoutACutOffTheTopicsAreReadFromTheBeginning() {
    RunRecords records = collect(null);
    assertThat(records.sent()).containsOnlyKeys(RUN + "-0", RUN + "-1", RUN + "-2");
    assertThat(records.answered()).containsOnlyKeys(RUN + "-0", RUN + "-1", RUN + "-2");
  }

  @Test
  void aCutOffAfterEverythingReadsNothing() {
    RunRecords records = collect(NOW.plus(Duration.ofHours(1)));
    assertThat(records.sent()).isEmpty();
    assertThat(records.answered()).isEmpty();
  }
}
