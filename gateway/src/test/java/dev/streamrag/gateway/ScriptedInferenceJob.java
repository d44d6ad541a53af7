package dev.streamrag.gateway;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The inference job's side of the gateway's contract, scripted by a test: it reads the requests a
 * gateway produced and writes the AnswerPiece records the test dictates to the partition each
 * request's replyTo names. Not a stand-in for the real job (the end-to-end test with it lives in
 * devstack): it exists because the contract cases the gateway must handle (replays, gaps, a
 * restarted or stale generation, another gateway's pieces on the same partition) cannot be caused
 * on demand with the real job.
 *
 * <p>Each test tags its requests (the request attribute {@value #TAG}, from OpenAI's {@code
 * metadata}) and takes only requests with its tag: a request a previous test left behind (a retry,
 * a late send) cannot be mistaken for the next test's. {@link #unclaimed} tells a test what it did
 * not expect.
 */
final class ScriptedInferenceJob implements AutoCloseable {
  private final RecordCodec<InferenceRequest> requestCodec = RecordCodec.of(InferenceRequest.class);
  private final RecordCodec<AnswerPiece> pieceCodec = RecordCodec.of(AnswerPiece.class);

  /** The request attribute that names the test that sent it. */
  static final String TAG = "test";

  private static final String UNTAGGED = "";

  private final Map<String, BlockingQueue<InferenceRequest>> requests = new ConcurrentHashMap<>();
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaConsumer<String, byte[]> consumer;
  private final Thread reader;
  private volatile boolean running = true;

  ScriptedInferenceJob(String bootstrap, String requestsTopic) {
    Properties producerConfig = new Properties();
    producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    producerConfig.put(
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    producerConfig.put(
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    producerConfig.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    producer = new KafkaProducer<>(producerConfig);

    Properties consumerConfig = new Properties();
    consumerConfig.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    consumerConfig.put(
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    consumerConfig.put(
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    consumer = new KafkaConsumer<>(consumerConfig);
    List<TopicPartition> partitions =
        consumer.partitionsFor(requestsTopic).stream()
            .map((PartitionInfo p) -> new TopicPartition(p.topic(), p.partition()))
            .toList();
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position); // resolve now: requests sent from here on are read
    reader = new Thread(this::read, "scripted-inference-job");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try {
      while (running) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          Decoded<InferenceRequest> decoded = requestCodec.decode(record.value());
          if (!decoded.isOk()) {
            throw new AssertionError("the gateway produced an undecodable request: " + decoded);
          }
          if (!record.key().equals(decoded.value().getRequestId())) {
            throw new AssertionError("request keyed " + record.key() + " is " + decoded.value());
          }
          InferenceRequest request = decoded.value();
          queue(request.getAttributes().getOrDefault(TAG, UNTAGGED)).add(request);
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close();
    }
  }

  private BlockingQueue<InferenceRequest> queue(String tag) {
    return requests.computeIfAbsent(tag, t -> new LinkedBlockingQueue<>());
  }

  /** The next request a gateway produced with {@code tag}, waiting up to 15 s. */
  InferenceRequest nextRequest(String tag) throws InterruptedException {
    InferenceRequest request = queue(tag).poll(15, TimeUnit.SECONDS);
    if (request == null) {
      throw new AssertionError("no request tagged " + tag + " reached the requests topic in 15 s");
    }
    return request;
  }

  /** No request with {@code tag} arrives within {@code wait} (e.g. one a gateway refused). */
  boolean noRequestWithin(String tag, Duration wait) throws InterruptedException {
    return queue(tag).poll(wait.toMillis(), TimeUnit.MILLISECONDS) == null;
  }

  /** Requests with {@code tag} that arrived and were not taken; takes them. */
  List<InferenceRequest> unclaimed(String tag) {
    List<InferenceRequest> left = new ArrayList<>();
    queue(tag).drainTo(left);
    return left;
  }

  /** Builders of pieces for {@code request}. */
  static Pieces piecesOf(InferenceRequest request) {
    return new Pieces(request.getRequestId(), request.getTenantId());
  }

  /** Writes {@code pieces} where {@code request}'s replyTo says, in this order. */
  void reply(InferenceRequest request, AnswerPiece... pieces) {
    replyTo(request.getReplyTo().getTopic(), request.getReplyTo().getPartition(), pieces);
  }

  /** Writes {@code pieces} to {@code partition} of {@code topic}, in this order, and flushes. */
  void replyTo(String topic, int partition, AnswerPiece... pieces) {
    for (AnswerPiece piece : pieces) {
      producer.send(
          new ProducerRecord<>(topic, partition, piece.getRequestId(), pieceCodec.encode(piece)));
    }
    producer.flush();
  }

  /** Writes raw bytes (e.g. garbage) to a partition. */
  void replyRaw(String topic, int partition, String key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, partition, key, value));
    producer.flush();
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      reader.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close();
  }
}
