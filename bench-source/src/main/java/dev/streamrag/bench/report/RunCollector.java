package dev.streamrag.bench.report;

import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads one run's requests and responses back from Kafka (responses read_committed, as a client
 * sees them), selecting by the {@code bench.run} attribute. It starts at the records written from
 * {@code from} on (by Kafka's record timestamps), or at the topics' beginning when it is null. It
 * stops when every expected request has been seen and answered, or when {@code grace} has passed
 * without progress; what is then unanswered is lost.
 */
public final class RunCollector {
  private RunCollector() {}

  public static RunRecords collect(
      KafkaClientSettings kafka,
      String requestsTopic,
      String responsesTopic,
      Instant from,
      String runId,
      int expected,
      Duration grace,
      Consumer<String> progress) {
    RecordCodec<InferenceRequest> requests = RecordCodec.of(InferenceRequest.class);
    RecordCodec<InferenceResponse> responses = RecordCodec.of(InferenceResponse.class);
    Map<String, InferenceRequest> sent = new LinkedHashMap<>();
    Map<String, InferenceResponse> answered = new LinkedHashMap<>();
    int[] duplicates = new int[2];
    Map<String, Object> config = kafka.toMap();
    config.putAll(
        Map.of(
            ConsumerConfig.GROUP_ID_CONFIG, "streamrag-report-" + UUID.randomUUID(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"));
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : List.of(requestsTopic, responsesTopic)) {
        consumer
            .partitionsFor(topic, Duration.ofSeconds(30))
            .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      }
      consumer.assign(partitions);
      seek(consumer, partitions, from);
      long lastProgress = System.nanoTime();
      long lastReport = 0;
      while (sent.size() < expected || answered.size() < sent.size()) {
        int before = sent.size() + answered.size();
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.topic().equals(requestsTopic)) {
            InferenceRequest request = requests.decode(record.value()).value();
            if (request != null && runId.equals(request.getAttributes().get(RequestFactory.RUN))) {
              if (sent.putIfAbsent(request.getRequestId(), request) != null) {
                duplicates[0]++;
              }
            }
          } else {
            InferenceResponse response = responses.decode(record.value()).value();
            if (response != null
                && runId.equals(response.getAttributes().get(RequestFactory.RUN))) {
              if (answered.putIfAbsent(response.getRequestId(), response) != null) {
                duplicates[1]++;
              }
            }
          }
        }
        long now = System.nanoTime();
        if (sent.size() + answered.size() > before) {
          lastProgress = now;
        } else if (now - lastProgress > grace.toNanos()) {
          break;
        }
        if (now - lastReport > 1_000_000_000L) {
          lastReport = now;
          progress.accept(
              String.format(
                  "collected %d/%d sent, %d answered", sent.size(), expected, answered.size()));
        }
      }
    }
    return new RunRecords(sent, answered, duplicates[0], duplicates[1]);
  }

  private static void seek(
      KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions, Instant from) {
    if (from == null) {
      consumer.seekToBeginning(partitions);
      return;
    }
    Map<TopicPartition, Long> times = new LinkedHashMap<>();
    partitions.forEach(partition -> times.put(partition, from.toEpochMilli()));
    consumer
        .offsetsForTimes(times, Duration.ofSeconds(30))
        .forEach(
            (partition, found) -> {
              if (found == null) {
                // Nothing written there since `from`: whatever the run writes comes after the end.
                consumer.seekToEnd(List.of(partition));
              } else {
                consumer.seek(partition, found.offset());
              }
            });
  }
}
