package dev.streamrag.gateway.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads this gateway's reply partition of the pieces topic, on one thread, and hands every record
 * to a {@link RecordHandler}. The partition is assigned, not subscribed: no consumer group, no
 * rebalancing, no commits; other gateways own the other partitions. Reading starts at the end, as
 * positioned at start: the pieces the gateway waits for are those of requests it sends from then
 * on.
 */
public final class ReplyPartitionListener implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplyPartitionListener.class);
  private static final Duration POLL = Duration.ofMillis(200);

  /** Receives the records; must not block (it runs on the only consumer thread). */
  @FunctionalInterface
  public interface RecordHandler {
    void handle(String key, byte[] value);
  }

  private final KafkaSettings settings;
  private final RecordHandler handler;
  private final TopicPartition partition;
  private final CountDownLatch positioned = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean running = true;
  private volatile KafkaConsumer<String, byte[]> consumer;

  public ReplyPartitionListener(KafkaSettings settings, RecordHandler handler) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.handler = Objects.requireNonNull(handler, "handler");
    this.partition = new TopicPartition(settings.piecesTopic(), settings.replyPartition());
    this.thread = new Thread(this::run, "gateway-pieces-" + partition);
    this.thread.setDaemon(true);
  }

  static Properties config(KafkaSettings settings) {
    Properties config = settings.common("streamrag-gateway-pieces-p" + settings.replyPartition());
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    config.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    config.put(
        ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(settings.timeoutMillis()));
    config.put(
        ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(settings.timeoutMillis()));
    return config;
  }

  /** Starts the consumer thread. */
  public void start() {
    thread.start();
  }

  /**
   * Whether the consumer knows where the end of the partition was, so no reply can be missed, and
   * is still reading.
   */
  public boolean positioned() {
    return positioned.getCount() == 0 && thread.isAlive();
  }

  /** Waits up to {@code timeout} for {@link #positioned()}. */
  public boolean awaitPositioned(Duration timeout) throws InterruptedException {
    return positioned.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void run() {
    try (KafkaConsumer<String, byte[]> kafka = new KafkaConsumer<>(config(settings))) {
      consumer = kafka;
      if (!running) {
        return;
      }
      kafka.assign(List.of(partition));
      kafka.seekToEnd(List.of(partition));
      position(kafka);
      while (running) {
        ConsumerRecords<String, byte[]> records = kafka.poll(POLL);
        for (ConsumerRecord<String, byte[]> record : records) {
          handler.handle(record.key(), record.value());
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("The reply partition consumer of {} stopped", partition, e);
    }
  }

  /**
   * Resolves the end offset now; seekToEnd alone is lazy and would be resolved at the first poll,
   * after requests may have been answered. Retries while Kafka is unreachable.
   */
  private void position(KafkaConsumer<String, byte[]> kafka) {
    boolean warned = false;
    while (running) {
      try {
        long offset = kafka.position(partition, settings.timeout());
        LOG.info("Reading replies from {} at offset {}", partition, offset);
        positioned.countDown();
        return;
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        if (!warned) {
          LOG.warn("Cannot reach {} yet; retrying until Kafka answers", partition);
          warned = true;
        }
      }
    }
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> kafka = consumer;
    if (kafka != null) {
      kafka.wakeup();
    }
    try {
      thread.join(settings.timeout().toMillis() + 5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
