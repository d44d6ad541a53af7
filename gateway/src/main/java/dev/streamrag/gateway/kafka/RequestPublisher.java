package dev.streamrag.gateway.kafka;

import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces encoded requests to the requests topic, keyed by requestId. {@code KafkaProducer.send}
 * can block (fetching metadata, a full buffer) for up to {@code max.block.ms}, so sends run on one
 * thread of their own, never on an event loop; the outcome comes back through a callback, which the
 * caller moves to its own event loop. Timeouts are short: a request Kafka cannot take fails within
 * {@code delivery.timeout.ms} instead of hanging.
 */
public final class RequestPublisher implements AutoCloseable {
  private final KafkaSettings settings;
  private final KafkaProducer<String, byte[]> producer;
  private final ExecutorService sender;

  public RequestPublisher(KafkaSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.producer = new KafkaProducer<>(config(settings));
    this.sender =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-request-sender");
              thread.setDaemon(true);
              return thread;
            });
  }

  static Properties config(KafkaSettings settings) {
    Properties config = settings.common("streamrag-gateway-requests-p" + settings.replyPartition());
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    // A person waits for each request: send at once rather than batch.
    config.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    int timeout = settings.timeoutMillis();
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(timeout));
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeout));
    // Must be at least linger.ms + request.timeout.ms; one retry's worth beyond the request
    // timeout.
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(2 * timeout));
    return config;
  }

  /**
   * Sends {@code value} keyed by {@code requestId}; {@code onDone} gets null once Kafka has it, or
   * the reason it failed. {@code onDone} runs on a Kafka or sender thread.
   */
  public void send(String requestId, byte[] value, Consumer<Exception> onDone) {
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(settings.requestsTopic(), requestId, value);
    try {
      sender.execute(
          () -> {
            try {
              producer.send(record, (metadata, error) -> onDone.accept(error));
            } catch (RuntimeException e) {
              onDone.accept(e);
            }
          });
    } catch (RejectedExecutionException e) {
      onDone.accept(e); // closing
    }
  }

  /** Fetches the requests topic's metadata, so the first request does not wait for it. */
  public void warmUp() {
    sender.execute(
        () -> {
          try {
            producer.partitionsFor(settings.requestsTopic());
          } catch (RuntimeException e) {
            // Kafka unreachable: the health check says so; sends will fail fast.
          }
        });
  }

  @Override
  public void close() {
    sender.shutdown();
    producer.close(Duration.ofMillis(settings.timeoutMillis()));
  }
}
