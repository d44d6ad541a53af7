package dev.streamrag.inference;

import dev.streamrag.corpus.CorpusFiles;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.ingest.IngestJobMain;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Test plumbing around the inference job: index a corpus, create topics, produce and read. */
final class TestStack {
  private TestStack() {}

  /** Indexes {@code corpus} into {@code index} with the real ingest pipeline (a bounded run). */
  static void ingest(DemoCorpus corpus, Path dir, String opensearch, String kafka, String index)
      throws Exception {
    Path files = dir.resolve("corpus-" + index);
    CorpusFiles.write(corpus, files);
    Files.delete(files.resolve(CorpusFiles.QUESTIONS));
    String dlq = "ingest-dlq-" + index;
    createTopics(kafka, dlq);
    Configuration config =
        JobConfig.load(
            new String[] {
              "--ingest.kafka-enabled", "false",
              "--ingest.files", files.toString(),
              "--opensearch.url", opensearch,
              "--kafka.bootstrap-servers", kafka,
              "--ingest.dead-letter-topic", dlq,
              "--ingest.index", index
            },
            Map.of(),
            IngestOptions.ALL);
    KnnIndex.createIfMissing(URI.create(opensearch), index, 384, 1, 0);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    IngestJobMain.buildOnConfiguredIo(env, config);
    env.execute("ingest-" + index);
    KnnIndex.refresh(URI.create(opensearch), index);
  }

  static void createTopics(String kafka, String... topics) throws Exception {
    createTopics(plain(kafka), topics);
  }

  /** The client config of a plaintext, unauthenticated broker. */
  static Map<String, Object> plain(String kafka) {
    return Map.of("bootstrap.servers", kafka);
  }

  /** As {@link #createTopics(String, String...)} with a client config (a secured broker's). */
  static void createTopics(Map<String, Object> client, String... topics) throws Exception {
    try (Admin admin = Admin.create(client)) {
      List<NewTopic> newTopics = new ArrayList<>();
      for (String topic : topics) {
        newTopics.add(new NewTopic(topic, 2, (short) 1));
      }
      admin.createTopics(newTopics).all().get();
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** A request as a client would write it in JSON: greedy, so equal requests share an answer. */
  static com.fasterxml.jackson.databind.node.ObjectNode request(
      String id, String tenant, String kind, String question, int maxTokens) {
    com.fasterxml.jackson.databind.node.ObjectNode request = JSON.createObjectNode();
    request.put("requestId", id);
    request.put("tenantId", tenant);
    request.put("kind", kind);
    request.putArray("messages").addObject().put("role", "user").put("content", question);
    request.put("maxTokens", maxTokens);
    request.put("temperature", 0.0);
    request.put("createdAt", System.currentTimeMillis());
    return request;
  }

  /**
   * A producer of requests keyed by requestId, as the gateway writes them; deliveries wait out a
   * broker restart (two minutes).
   */
  static KafkaProducer<String, byte[]> requestProducer(String kafka) {
    return new KafkaProducer<>(
        Map.of(
            "bootstrap.servers",
            kafka,
            "linger.ms",
            0,
            "delivery.timeout.ms",
            120_000,
            "max.block.ms",
            120_000),
        new org.apache.kafka.common.serialization.StringSerializer(),
        new ByteArraySerializer());
  }

  /** Produces raw values (JSON text or anything else) keyed by nothing. */
  static void produce(String kafka, String topic, List<String> values) {
    produce(plain(kafka), topic, values);
  }

  /** As {@link #produce(String, String, List)} with a client config (a secured broker's). */
  static void produce(Map<String, Object> client, String topic, List<String> values) {
    Map<String, Object> config = new java.util.HashMap<>(client);
    config.put("linger.ms", 0);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (String value : values) {
        producer.send(new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
  }

  /** A consumer of {@code topic} from its beginning, in a group of its own. */
  static KafkaConsumer<byte[], byte[]> fromEarliest(String kafka, String topic, String isolation) {
    return fromEarliest(plain(kafka), topic, isolation);
  }

  /** As {@link #fromEarliest(String, String, String)} with a client config; groups "it-...". */
  static KafkaConsumer<byte[], byte[]> fromEarliest(
      Map<String, Object> client, String topic, String isolation) {
    Map<String, Object> config = new java.util.HashMap<>(client);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID());
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  /** A read_committed reader of one topic that keeps everything it has seen. */
  static final class Reader<T extends org.apache.avro.specific.SpecificRecord>
      implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final RecordCodec<T> codec;
    private final List<T> seen = new ArrayList<>();

    Reader(String kafka, String topic, Class<T> type) {
      this(plain(kafka), topic, type);
    }

    Reader(Map<String, Object> client, String topic, Class<T> type) {
      this.codec = RecordCodec.of(type);
      this.consumer = fromEarliest(client, topic, "read_committed");
    }

    /** Polls until {@code done} holds for what was seen, or fails after {@code timeout}. */
    List<T> until(Predicate<List<T>> done, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.test(seen)) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out after " + timeout + "; seen " + seen.size());
        }
        poll(Duration.ofMillis(200));
      }
      return List.copyOf(seen);
    }

    void poll(Duration duration) {
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(duration)) {
        seen.add(codec.decode(record.value()).value());
      }
    }

    List<T> seen() {
      return List.copyOf(seen);
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  /**
   * A reader of the pieces topic, as a streaming client would be: every request's pieces through
   * its own {@link StreamedAnswer}, with the partition each piece came from.
   */
  static final class PieceReader implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
    private final Map<String, StreamedAnswer> answers = new LinkedHashMap<>();
    private final Map<String, java.util.Set<Integer>> partitions = new LinkedHashMap<>();

    PieceReader(String kafka, String topic) {
      this(plain(kafka), topic);
    }

    PieceReader(Map<String, Object> client, String topic) {
      consumer = fromEarliest(client, topic, "read_uncommitted");
    }

    /** Polls until every one of {@code ids} has its END, or fails after {@code timeout}. */
    Map<String, StreamedAnswer> finished(List<String> ids, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!ids.stream().allMatch(id -> answers.containsKey(id) && answers.get(id).finished())) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(
              "pieces of "
                  + ids.stream()
                      .filter(id -> !answers.containsKey(id) || !answers.get(id).finished())
                      .toList()
                  + " did not end within "
                  + timeout);
        }
        poll(Duration.ofMillis(200));
      }
      Map<String, StreamedAnswer> found = new LinkedHashMap<>();
      ids.forEach(id -> found.put(id, answers.get(id)));
      return found;
    }

    void poll(Duration duration) {
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(duration)) {
        AnswerPiece piece = codec.decode(record.value()).value();
        answers.computeIfAbsent(piece.getRequestId(), StreamedAnswer::new).offer(piece);
        partitions
            .computeIfAbsent(piece.getRequestId(), id -> new java.util.TreeSet<>())
            .add(record.partition());
      }
    }

    /** What arrived for {@code id} so far, or null. */
    StreamedAnswer answer(String id) {
      return answers.get(id);
    }

    java.util.Set<Integer> partitionsOf(String id) {
      return partitions.getOrDefault(id, java.util.Set.of());
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  /** The responses seen, by requestId (the last one, if some id came twice). */
  static Map<String, InferenceResponse> byId(List<InferenceResponse> responses) {
    Map<String, InferenceResponse> map = new LinkedHashMap<>();
    responses.forEach(r -> map.put(r.getRequestId(), r));
    return map;
  }

  static Predicate<List<InferenceResponse>> answered(List<String> ids) {
    return seen -> byId(seen).keySet().containsAll(ids);
  }

  static Predicate<List<DeadLetter>> atLeast(int count) {
    return seen -> seen.size() >= count;
  }

  /** Sends a request (JSON, as a client writes it) to {@code topic}, keyed by its requestId. */
  static void send(
      KafkaProducer<String, byte[]> producer,
      String topic,
      com.fasterxml.jackson.databind.node.ObjectNode request)
      throws Exception {
    producer
        .send(
            new ProducerRecord<>(
                topic,
                request.get("requestId").asText(),
                request.toString().getBytes(StandardCharsets.UTF_8)))
        .get();
  }

  /**
   * Until every task of {@code job} runs: a job is RUNNING while its tasks still wait for slots,
   * and requests sent then would wait too.
   */
  static void awaitRunning(
      org.apache.flink.runtime.minicluster.MiniCluster flink, org.apache.flink.api.common.JobID job)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (true) {
      Map<org.apache.flink.runtime.execution.ExecutionState, Long> states = taskStates(flink, job);
      if (flink.getJobStatus(job).get() == org.apache.flink.api.common.JobStatus.RUNNING
          && states.keySet().stream()
              .allMatch(
                  state -> state == org.apache.flink.runtime.execution.ExecutionState.RUNNING)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "the job's tasks did not all start in 90 s: job "
                + flink.getJobStatus(job).get()
                + ", tasks "
                + states);
      }
      Thread.sleep(100);
    }
  }

  /** How many of {@code job}'s tasks are in each state. */
  static Map<org.apache.flink.runtime.execution.ExecutionState, Long> taskStates(
      org.apache.flink.runtime.minicluster.MiniCluster flink, org.apache.flink.api.common.JobID job)
      throws Exception {
    Map<org.apache.flink.runtime.execution.ExecutionState, Long> states = new java.util.TreeMap<>();
    for (var vertex : flink.getExecutionGraph(job).get().getAllExecutionVertices()) {
      states.merge(vertex.getExecutionState(), 1L, Long::sum);
    }
    return states;
  }
}
