package dev.streamrag.bench.client;

import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Follows every partition of one topic from its end (as of {@link #start}) on a thread of its own,
 * as a client waiting for answers does, and hands each fetched batch to a handler with the instant
 * the batch arrived: the client's receive stamp. A blocking poll returns as soon as records come,
 * so the stamp is not delayed by a polling interval.
 */
final class TopicTail implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String topic;
  private final BiConsumer<ConsumerRecord<byte[], byte[]>, Long> handler;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  /**
   * @param readCommitted read as a read_committed consumer (the exactly-once responses topic)
   * @param handler gets each record and the epoch µs its batch arrived at
   */
  TopicTail(
      KafkaClientSettings kafka,
      String topic,
      boolean readCommitted,
      BiConsumer<ConsumerRecord<byte[], byte[]>, Long> handler) {
    this.topic = topic;
    this.handler = handler;
    Map<String, Object> config = kafka.toMap();
    config.putAll(
        Map.of(
            ConsumerConfig.GROUP_ID_CONFIG,
            "streamrag-client-" + UUID.randomUUID(),
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            "false",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            readCommitted ? "read_committed" : "read_uncommitted",
            // Return each record as soon as it is there: this client measures latency.
            ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
            "100"));
    this.consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "client-tail-" + topic);
    thread.setDaemon(true);
  }

  /** Positions at the topic's end, then follows it. Returns once positioned. */
  TopicTail start() {
    List<TopicPartition> partitions = new ArrayList<>();
    consumer
        .partitionsFor(topic, Duration.ofSeconds(30))
        .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // resolve now: nothing written after this is missed
    thread.start();
    return this;
  }

  private void run() {
    try {
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
        long arrived = ClientClock.nowMicros();
        for (ConsumerRecord<byte[], byte[]> record : records) {
          handler.accept(record, arrived);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException | Error e) {
      failure = e;
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /** Why the thread stopped early, or null. */
  Throwable failure() {
    return failure;
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
