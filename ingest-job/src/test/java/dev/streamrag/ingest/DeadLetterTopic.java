package dev.streamrag.ingest;

import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.codec.RecordCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads what a job wrote to a dead-letter topic, for assertions. */
final class DeadLetterTopic {
  private DeadLetterTopic() {}

  /** Everything on {@code topic}, waiting up to 20 s for at least {@code expected} records. */
  static List<DeadLetter> read(String bootstrapServers, String topic, int expected) {
    RecordCodec<DeadLetter> codec = RecordCodec.of(DeadLetter.class);
    List<DeadLetter> letters = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG,
                "dlq-reader-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (letters.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          letters.add(codec.decode(record.value()).value());
        }
      }
      // One more short poll: more than expected must show up too.
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
        letters.add(codec.decode(record.value()).value());
      }
    }
    return letters;
  }
}
