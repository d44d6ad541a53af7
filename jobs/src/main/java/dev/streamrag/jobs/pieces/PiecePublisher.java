package dev.streamrag.jobs.pieces;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <p>The threads that hand pieces over (Flink's task thread, the HTTP client's thread that reads
 * every LLM stream) never wait for Kafka: a piece is encoded at once and queued, and one sender
 * thread hands the queue to the producer in order. Only the sender may block, for metadata or a
 * full producer buffer; the coalescing timer runs on a thread of its own.
 *
 * <p>Delivery is at least once: stages {@link #flush} on every checkpoint (bounded, so an
 * unreachable Kafka delays a checkpoint by at most {@link #FLUSH_TIMEOUT}), and a stream whose
 * piece was lost repairs itself ({@link AnswerStream}). Nothing is thrown into the stream: a piece
 * that cannot be sent is counted, and the committed response still records the answer.
 */
public final class PiecePublisher implements PieceSink {
  private static final Logger LOG = LoggerFactory.getLogger(PiecePublisher.class);
  private static final Map<PieceSettings, PiecePublisher> SHARED = new HashMap<>();
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /** Pieces waiting for the sender; beyond this, pieces are dropped (and their streams repair). */
  static final int QUEUE_CAPACITY = 100_000;

  /**
   * Largest encoded piece handed to Kafka, well under the brokers' default 1 MiB message limit. A
   * piece the broker refuses as too large is retried by the producer until its delivery timeout,
   * holding back every piece behind it on that partition; so it is refused here instead. Text is
   * split into pieces far smaller than this ({@link AnswerStream#MAX_DELTA_CHARS}).
   */
  static final int MAX_PIECE_BYTES = 256 * 1024;

  /** Longest a checkpoint waits for the pieces before it to be acknowledged. */
  static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(5);

  private static final Duration PARTITIONS_MAX_AGE = Duration.ofSeconds(30);

  private final PieceSettings settings;
  private final KafkaProducer<byte[], byte[]> producer;
  private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>(QUEUE_CAPACITY);
  private final PartitionCounts partitions;
  private final Warnings warnings = new Warnings(LOG);
  private final Thread sender;
  private final ScheduledExecutorService timer;
  private final ScheduledExecutorService flusher;
  private volatile boolean running = true;
  private CompletableFuture<Void> flushing = CompletableFuture.completedFuture(null);
  private int references;

  /** One piece on its way: what the sender needs, already encoded. */
  private record Outgoing(
      PieceDestination destination,
      String requestId,
      long generation,
      byte[] value,
      PieceMetrics metrics,
      DeliveryListener listener) {}

  /** Reached by the sender once every piece queued before it was handed to the producer. */
  private record Barrier(CountDownLatch reached) {}

  private PiecePublisher(PieceSettings settings) {
    this.settings = settings;
    int instance = INSTANCES.incrementAndGet();
    this.producer = new KafkaProducer<>(producerConfig(settings, instance));
    this.partitions =
        new PartitionCounts(
            topic -> producer.partitionsFor(topic).size(), PARTITIONS_MAX_AGE.toNanos());
    this.timer = daemonScheduler("streamrag-pieces-timer-" + instance);
    this.flusher = daemonScheduler("streamrag-pieces-flush-" + instance);
    this.sender = new Thread(this::sendLoop, "streamrag-pieces-sender-" + instance);
    sender.setDaemon(true);
    sender.start();
  }

  private static ScheduledExecutorService daemonScheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, name);
          thread.setDaemon(true);
          return thread;
        });
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
      if (references == 0) {
        return; // released more often than acquired: nothing of ours to close twice
      }
      if (--references > 0) {
        return;
      }
      SHARED.remove(settings, this);
    }
    running = false;
    try {
      sender.join(FLUSH_TIMEOUT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timer.shutdownNow();
    flusher.shutdownNow();
    producer.close(Duration.ofSeconds(10));
  }

  static Properties producerConfig(PieceSettings settings, int instance) {
    Properties config = settings.kafka().toProperties();
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "streamrag-pieces-" + instance);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    // Idempotent, all replicas: pieces of one generation arrive in order and without gaps.
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(settings.linger().toMillis()));
    // Only the sender thread waits this long, for metadata or buffer space.
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    // A piece later than this is of no use to anyone: the stream repairs itself instead.
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

  /** Encodes the piece now (later changes to its parts do not leak in) and queues it. */
  @Override
  public void send(
      PieceDestination destination,
      AnswerPiece piece,
      PieceMetrics metrics,
      DeliveryListener listener) {
    byte[] value;
    try {
      value = settings.format().encode(codec, piece, -1); // REGISTRY is refused for pieces at start
    } catch (RuntimeException e) {
      metrics.failed();
      warnings.warn("encode", "could not encode a piece of " + piece.getRequestId() + ": " + e);
      listener.undeliverable(piece.getGeneration()); // encoding it again will not help
      return;
    }
    if (value.length > MAX_PIECE_BYTES) {
      metrics.undeliverable();
      warnings.warn(
          "too-large",
          "a piece of "
              + piece.getRequestId()
              + " has "
              + value.length
              + " bytes, over the limit of "
              + MAX_PIECE_BYTES
              + "; its answer is only in the committed response");
      listener.undeliverable(piece.getGeneration());
      return;
    }
    if (!running
        || !queue.offer(
            new Outgoing(
                destination,
                piece.getRequestId(),
                piece.getGeneration(),
                value,
                metrics,
                listener))) {
      metrics.failed();
      warnings.warn(
          "queue-full",
          QUEUE_CAPACITY + " pieces are waiting for Kafka; dropped one of " + piece.getRequestId());
      listener.lost(piece.getGeneration());
    }
  }

  /** The sender thread: the queue, in order, to the producer. */
  private void sendLoop() {
    while (running || !queue.isEmpty()) {
      Object next;
      try {
        next = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (next instanceof Barrier barrier) {
        barrier.reached().countDown();
      } else if (next instanceof Outgoing piece) {
        hand(piece);
      }
    }
  }

  private void hand(Outgoing piece) {
    PieceDestination destination = piece.destination();
    Integer partition = destination.partition();
    if (partition != null) {
      PartitionCounts.Answer exists = partitions.has(destination.topic(), partition);
      if (exists != PartitionCounts.Answer.EXISTS) {
        boolean missing = exists == PartitionCounts.Answer.MISSING;
        if (missing) {
          piece.metrics().undeliverable();
          piece.listener().undeliverable(piece.generation());
        } else {
          piece.metrics().failed();
          piece.listener().lost(piece.generation());
        }
        warnings.warn(
            missing ? "no-partition" : "no-metadata",
            (missing
                    ? "dropped pieces addressed to partition "
                        + partition
                        + " of "
                        + destination.topic()
                        + ", which it does not have"
                    : "cannot read the partitions of " + destination.topic() + " from Kafka")
                + " (request "
                + piece.requestId()
                + ")");
        return;
      }
    }
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(
            destination.topic(),
            partition,
            destination.key().getBytes(StandardCharsets.UTF_8),
            piece.value());
    try {
      producer.send(
          record,
          (metadata, error) -> {
            if (error == null) {
              piece.metrics().sent(piece.value().length);
            } else {
              piece.metrics().failed();
              piece.listener().lost(piece.generation());
              warnings.warn(
                  "refused", "Kafka refused a piece of " + piece.requestId() + ": " + error);
            }
          });
    } catch (RuntimeException e) { // metadata not ready within max.block.ms, producer closed
      piece.metrics().failed();
      piece.listener().lost(piece.generation());
      warnings.warn("send", "could not send a piece of " + piece.requestId() + ": " + e);
    }
  }

  /**
   * Waits until every piece handed over so far is acknowledged or has failed, for at most {@link
   * #FLUSH_TIMEOUT}; returns whether it got there. A flush still running from an earlier checkpoint
   * is waited for rather than started again.
   */
  public boolean flush() {
    CompletableFuture<Void> current;
    synchronized (this) {
      if (flushing.isDone()) {
        flushing = CompletableFuture.runAsync(this::flushNow, flusher);
      }
      current = flushing;
    }
    try {
      current.get(FLUSH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      warnings.warn(
          "flush",
          "pieces were not all acknowledged within "
              + FLUSH_TIMEOUT
              + " of a checkpoint (Kafka slow or down); lost ones are sent again by their streams");
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException | RejectedExecutionException e) {
      return false;
    }
  }

  private void flushNow() {
    CountDownLatch reached = new CountDownLatch(1);
    try {
      queue.put(new Barrier(reached));
      reached.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    producer.flush();
  }

  @Override
  public void schedule(Runnable task, long delayNanos) {
    try {
      timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      task.run(); // closing: flush now rather than never
    }
  }
}
