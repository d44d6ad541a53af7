package dev.streamrag.gateway.kafka;

import dev.streamrag.gateway.logging.RateLimitedLog;
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
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads this gateway's reply partition of the pieces topic, on one thread, and hands every record
 * to a {@link RecordHandler}. The partition is assigned, not subscribed: no consumer group, no
 * rebalancing, no commits; other gateways own the other partitions. Reading starts at the end, as
 * positioned when the consumer starts: the pieces the gateway waits for are those of requests it
 * sends from then on.
 *
 * <p>The consumer is not allowed to die. If creating it fails (a bootstrap name that does not
 * resolve yet) or it throws while reading, it is closed and created again with backoff, and reads
 * from the partition's end again. Pieces written in between are never seen, so a failure after the
 * consumer was positioned is reported to {@code onLost}, which fails the requests open at that
 * moment; until it is positioned again, {@link #positioned()} is false and new requests are
 * refused.
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
  private final Runnable onLost;
  private final TopicPartition partition;
  private final Thread thread;
  private final CountDownLatch stopping = new CountDownLatch(1);
  private final Object positionLock = new Object();
  private final Backoff backoff = new Backoff(200, 10_000);
  private final RateLimitedLog retryLog = new RateLimitedLog(LOG, 30_000);
  private volatile boolean running = true;
  private volatile boolean positioned;
  private volatile KafkaConsumer<String, byte[]> consumer;

  /**
   * @param onLost runs on the consumer thread when a positioned consumer failed: pieces may have
   *     been missed
   */
  public ReplyPartitionListener(KafkaSettings settings, RecordHandler handler, Runnable onLost) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.handler = Objects.requireNonNull(handler, "handler");
    this.onLost = Objects.requireNonNull(onLost, "onLost");
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
   * is reading.
   */
  public boolean positioned() {
    return positioned && thread.isAlive();
  }

  /** Waits up to {@code timeout} for {@link #positioned()}. */
  public boolean awaitPositioned(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (positionLock) {
      while (!positioned) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          return false;
        }
        positionLock.wait(left);
      }
      return true;
    }
  }

  private void run() {
    while (running) {
      KafkaConsumer<String, byte[]> kafka = null;
      try {
        kafka = new KafkaConsumer<>(config(settings));
        consumer = kafka;
        if (!running) {
          return;
        }
        read(kafka);
      } catch (WakeupException e) {
        // closing
      } catch (RuntimeException e) {
        // Kafka trouble, or a bug in the handler: log it, and keep reading rather than go deaf.
        failed(e);
      } finally {
        setPositioned(false);
        consumer = null;
        if (kafka != null) {
          closeQuietly(kafka);
        }
      }
      if (running) {
        long wait = backoff.next();
        try {
          stopping.await(wait, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void read(KafkaConsumer<String, byte[]> kafka) {
    kafka.assign(List.of(partition));
    kafka.seekToEnd(List.of(partition));
    if (!position(kafka)) {
      return;
    }
    backoff.reset();
    setPositioned(true);
    while (running) {
      ConsumerRecords<String, byte[]> records = kafka.poll(POLL);
      for (ConsumerRecord<String, byte[]> record : records) {
        handler.handle(record.key(), record.value());
      }
    }
  }

  private void failed(RuntimeException e) {
    if (!running) {
      return;
    }
    if (positioned) {
      LOG.error(
          "The consumer of reply partition {} failed; the requests open now may have lost pieces"
              + " and are failed; reading again from the end",
          partition,
          e);
      setPositioned(false);
      onLost.run();
    } else {
      retryLog.warn(
          "Cannot start the consumer of reply partition {} ({}: {}); retrying",
          partition,
          e.getClass().getSimpleName(),
          e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
    }
  }

  /**
   * Resolves the end offset now; seekToEnd alone is lazy and would be resolved at the first poll,
   * after requests may have been answered. Retries while Kafka is unreachable.
   */
  private boolean position(KafkaConsumer<String, byte[]> kafka) {
    boolean warned = false;
    while (running) {
      try {
        long offset = kafka.position(partition, settings.timeout());
        LOG.info("Reading replies from {} at offset {}", partition, offset);
        return true;
      } catch (TimeoutException e) {
        if (!warned) {
          LOG.warn("Cannot reach {} yet; retrying until Kafka answers", partition);
          warned = true;
        }
      }
    }
    return false;
  }

  private void setPositioned(boolean value) {
    synchronized (positionLock) {
      positioned = value;
      positionLock.notifyAll();
    }
  }

  private void closeQuietly(KafkaConsumer<String, byte[]> kafka) {
    try {
      kafka.close(settings.timeout());
    } catch (RuntimeException e) {
      LOG.debug("Closing the consumer of {} failed", partition, e);
    }
  }

  @Override
  public void close() {
    running = false;
    stopping.countDown();
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
