package dev.streamrag.gateway.kafka;

import dev.streamrag.gateway.logging.RateLimitedLog;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Produces encoded requests to the requests topic, keyed by requestId. {@code KafkaProducer.send}
 * can block (fetching metadata, a full buffer) for up to {@code max.block.ms}, so sends run on one
 * thread of their own, never on an event loop; the outcome comes back through a callback, which the
 * caller moves to its own event loop. Timeouts are short: a request Kafka cannot take fails within
 * {@code delivery.timeout.ms} instead of hanging.
 *
 * <p>The producer is created on that thread when first needed, not in the constructor: a bootstrap
 * name that does not resolve yet (kafka-clients refuses to construct a client then) must not stop
 * the gateway from starting. Until a producer exists, {@link #ready()} is false and sends are
 * refused; {@link #ensureStarted()} retries with backoff.
 *
 * <p>Each outcome says whether the record may be stored ({@link SendResult.Outcome}): a send the
 * producer refused before queueing it, or the broker refused, was not; a delivery timeout may have
 * been.
 */
public final class RequestPublisher implements AutoCloseable {
  /**
   * The producer's {@code max.request.size}, set explicitly, and the inference job's codec limit
   * (Kafka's default; at most the broker's default {@code message.max.bytes}): the largest request
   * record the gateway sends.
   */
  public static final int MAX_RECORD_BYTES = RecordCodec.DEFAULT_MAX_MESSAGE_BYTES;

  private static final Logger LOG = LoggerFactory.getLogger(RequestPublisher.class);

  private final KafkaSettings settings;
  private final ExecutorService sender;
  private final Thread senderThread;
  private final Backoff backoff = new Backoff(500, 30_000);
  private final RateLimitedLog creationLog = new RateLimitedLog(LOG, 30_000);
  private volatile KafkaProducer<String, byte[]> producer;
  private volatile boolean closed;

  public RequestPublisher(KafkaSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    Thread[] thread = new Thread[1];
    this.sender =
        Executors.newSingleThreadExecutor(
            runnable -> {
              thread[0] = new Thread(runnable, "gateway-request-sender");
              thread[0].setDaemon(true);
              return thread[0];
            });
    // Start the thread now, so that senderThread is known before any send.
    try {
      sender.submit(() -> {}).get();
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the request sender thread", e);
    }
    this.senderThread = thread[0];
  }

  static Properties config(KafkaSettings settings) {
    Properties config = settings.common("streamrag-gateway-requests-p" + settings.replyPartition());
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    // A person waits for each request: send at once rather than batch.
    config.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(MAX_RECORD_BYTES));
    int timeout = settings.timeoutMillis();
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(timeout));
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeout));
    // Must be at least linger.ms + request.timeout.ms; one retry's worth beyond the request
    // timeout.
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(2 * timeout));
    return config;
  }

  /**
   * Whether a record with this key and value fits what the producer sends ({@code
   * max.request.size}, counted as the producer counts it) and what the job decodes.
   */
  public static boolean fits(String key, byte[] value) {
    if (value.length > MAX_RECORD_BYTES) {
      return false;
    }
    int size =
        AbstractRecords.estimateSizeInBytesUpperBound(
            RecordBatch.CURRENT_MAGIC_VALUE,
            CompressionType.NONE,
            key.getBytes(StandardCharsets.UTF_8),
            value,
            Record.EMPTY_HEADERS);
    return size <= MAX_RECORD_BYTES;
  }

  /** Whether the producer exists, so sends can be attempted. */
  public boolean ready() {
    return producer != null;
  }

  /**
   * Creates the producer if it does not exist yet and its backoff allows, and fetches the requests
   * topic's metadata so the first request does not wait for it. Returns at once; runs on the sender
   * thread, and the future tells whether a producer exists then.
   */
  public CompletableFuture<Boolean> ensureStarted() {
    CompletableFuture<Boolean> started = new CompletableFuture<>();
    try {
      sender.execute(
          () -> {
            boolean created = producer == null && createIfDue();
            if (created) {
              try {
                producer.partitionsFor(settings.requestsTopic());
              } catch (RuntimeException e) {
                // Kafka unreachable: the health check says so; sends will fail fast.
              }
            }
            started.complete(producer != null);
          });
    } catch (RejectedExecutionException e) {
      started.complete(false); // closing
    }
    return started;
  }

  /** Creates the producer unless the last failure is too recent; on the sender thread. */
  private boolean createIfDue() {
    if (closed || !backoff.due()) {
      return false;
    }
    try {
      producer = new KafkaProducer<>(config(settings));
      backoff.reset();
      LOG.info("Kafka producer for {} created", settings.requestsTopic());
      return true;
    } catch (KafkaException e) {
      long wait = backoff.next();
      creationLog.warn(
          "Cannot create the Kafka producer for {} ({}); retrying in {} ms at the earliest",
          settings.bootstrapServers(),
          rootMessage(e),
          wait);
      return false;
    }
  }

  /**
   * Sends {@code value} keyed by {@code requestId}; {@code onDone} gets the outcome. It runs on a
   * Kafka or sender thread.
   */
  public void send(String requestId, byte[] value, Consumer<SendResult> onDone) {
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(settings.requestsTopic(), requestId, value);
    try {
      sender.execute(() -> sendNow(record, onDone));
    } catch (RejectedExecutionException e) {
      onDone.accept(SendResult.refused(e, true)); // closing: another instance can take it
    }
  }

  private void sendNow(ProducerRecord<String, byte[]> record, Consumer<SendResult> onDone) {
    KafkaProducer<String, byte[]> kafka = producer;
    if (kafka == null && createIfDue()) {
      kafka = producer;
    }
    if (kafka == null) {
      onDone.accept(SendResult.refused(new IllegalStateException("no Kafka producer (yet)"), true));
      return;
    }
    try {
      kafka.send(record, (metadata, error) -> onDone.accept(classify(error)));
    } catch (RuntimeException e) {
      onDone.accept(SendResult.refused(e, true));
    }
  }

  /**
   * The outcome of a send. kafka-clients calls back on this (the sender) thread, from inside {@code
   * send}, when it refused the record before queueing it (metadata not available within {@code
   * max.block.ms}, too large, ...): that record was never sent. On the network thread, a timeout
   * means the batch expired, possibly while the broker had it.
   */
  private SendResult classify(Exception error) {
    if (error == null) {
      return SendResult.SENT;
    }
    boolean refusedBeforeQueueing = Thread.currentThread() == senderThread;
    if (!refusedBeforeQueueing && error instanceof TimeoutException) {
      return SendResult.uncertain(error);
    }
    return SendResult.refused(error, error instanceof RetriableException);
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName() + ": " + root.getMessage();
  }

  @Override
  public void close() {
    closed = true;
    sender.shutdown();
    try {
      sender.awaitTermination(settings.timeoutMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    KafkaProducer<String, byte[]> kafka = producer;
    if (kafka != null) {
      kafka.close(Duration.ofMillis(settings.timeoutMillis()));
    }
  }
}
