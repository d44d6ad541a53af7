package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes answers' pieces to Kafka at once, outside Flink's sinks: Flink's Async I/O completes
 * each request once, so tokens streaming in cannot leave through it, and a transactional sink would
 * hold them until the next checkpoint. One idempotent producer per TaskManager and settings is
 * shared by every stage and subtask that publishes ({@link #acquire}/{@link #release}), so a job
 * opens one connection set, not one per operator.
 *
 * <p>Delivery is at least once: stages {@link #flush} on every checkpoint, so a checkpoint never
 * completes with pieces of the requests before it unsent. It never throws into the stream: a piece
 * Kafka refuses, or one addressed to a partition its topic does not have, is counted and dropped
 * (the final response on the exactly-once topic still records the answer).
 */
public final class PiecePublisher implements PieceSink {
  private static final Logger LOG = LoggerFactory.getLogger(PiecePublisher.class);
  private static final Map<PieceSettings, PiecePublisher> SHARED = new HashMap<>();
  private static final Duration PARTITION_REFRESH = Duration.ofSeconds(30);
  private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final PieceSettings settings;
  private final KafkaProducer<byte[], byte[]> producer;
  private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
  // Coalescing flushes and partition refreshes; daemon, so it never holds a JVM open.
  private final ScheduledExecutorService timer;
  private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();
  private volatile long lastWarning;
  private int references;

  private PiecePublisher(PieceSettings settings) {
    this.settings = settings;
    this.producer = new KafkaProducer<>(producerConfig(settings));
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "streamrag-pieces");
              thread.setDaemon(true);
              return thread;
            });
    refreshPartitions();
    timer.scheduleWithFixedDelay(
        this::refreshPartitions,
        PARTITION_REFRESH.toMillis(),
        PARTITION_REFRESH.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** The shared publisher for {@code settings}, created on first use; {@link #release} it. */
  public static PiecePublisher acquire(PieceSettings settings) {
    Objects.requireNonNull(settings, "settings");
    synchronized (SHARED) {
      PiecePublisher publisher = SHARED.computeIfAbsent(settings, PiecePublisher::new);
      publisher.references++;
      return publisher;
    }
  }

  /** Gives back what {@link #acquire} returned; the last release sends what is left and closes. */
  public void release() {
    synchronized (SHARED) {
      if (--references > 0) {
        return;
      }
      SHARED.remove(settings);
    }
    timer.shutdownNow();
    producer.close(Duration.ofSeconds(10));
  }

  static Properties producerConfig(PieceSettings settings) {
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "streamrag-pieces");
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    // Idempotent, all replicas: pieces of one generation arrive in order and without gaps.
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(settings.linger().toMillis()));
    // A send runs on the thread that reads LLM streams: it must never wait long for metadata.
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    // A checkpoint's flush waits for these at most; a piece that late is of no use to anyone.
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    config.put(
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
        String.valueOf(20_000 + settings.linger().toMillis()));
    return config;
  }

  @Override
  public PieceSettings settings() {
    return settings;
  }

  /**
   * Opens generation {@code generation} of one request's answer.
   *
   * @param generation epoch µs at which this attempt at the answer began (see AnswerPiece)
   */
  public AnswerStream open(
      PieceDestination destination,
      String requestId,
      String tenantId,
      long generation,
      PieceMetrics metrics) {
    return new AnswerStream(this, destination, requestId, tenantId, generation, metrics);
  }

  /** Sends one piece now (encoded at once: later changes to its parts do not leak in). */
  @Override
  public void send(PieceDestination destination, AnswerPiece piece, PieceMetrics metrics) {
    Integer partition = destination.partition();
    if (partition != null && !partitionExists(destination.topic(), partition)) {
      metrics.undeliverable();
      warn(
          "dropped pieces addressed to partition {} of {}, which it does not have (request {})",
          partition,
          destination.topic(),
          piece.getRequestId());
      return;
    }
    byte[] value;
    try {
      value = settings.format().encode(codec, piece);
    } catch (RuntimeException e) {
      metrics.failed();
      warn("could not encode a piece of request {}: {}", piece.getRequestId(), e.toString(), null);
      return;
    }
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(
            destination.topic(),
            partition,
            destination.key().getBytes(StandardCharsets.UTF_8),
            value);
    try {
      producer.send(
          record,
          (metadata, error) -> {
            if (error == null) {
              metrics.sent(value.length);
            } else {
              metrics.failed();
              warn(
                  "Kafka refused a piece of request {}: {}",
                  piece.getRequestId(),
                  error.toString(),
                  null);
            }
          });
    } catch (RuntimeException e) { // metadata not ready within max.block.ms, producer closed
      metrics.failed();
      warn("could not send a piece of request {}: {}", piece.getRequestId(), e.toString(), null);
    }
  }

  /** Blocks until every piece sent so far is acknowledged or has failed. */
  public void flush() {
    producer.flush();
  }

  /** Runs {@code task} on the publisher's timer after {@code delay}. */
  @Override
  public void schedule(Runnable task, long delayNanos) {
    try {
      timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      task.run(); // closing: flush now rather than never
    }
  }

  private boolean partitionExists(String topic, int partition) {
    Integer count = partitionCounts.get(topic);
    if (count == null) {
      timer.execute(this::refreshPartitions); // a topic not seen yet: look it up for next time
      return false;
    }
    return partition >= 0 && partition < count;
  }

  /** Partition counts of the topics requests may name; never on a thread that serves requests. */
  private void refreshPartitions() {
    List<String> topics = new ArrayList<>();
    topics.add(settings.topic());
    topics.addAll(settings.replyTopics());
    for (String topic : topics) {
      try {
        partitionCounts.put(topic, producer.partitionsFor(topic).size());
      } catch (RuntimeException e) {
        warn("cannot read the partitions of {}: {}", topic, e.toString(), null);
      }
    }
  }

  /** Logs at most once a minute: a flood of bad addresses must not flood the log. */
  private void warn(String format, Object a, Object b, Object c) {
    long now = System.nanoTime();
    if (now - lastWarning > LOG_EVERY_NANOS || lastWarning == 0) {
      lastWarning = now;
      LOG.warn(format + " (further such warnings within a minute are not logged)", a, b, c);
    }
  }
}
