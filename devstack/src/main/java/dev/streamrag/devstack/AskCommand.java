package dev.streamrag.devstack;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.codec.RecordCodec;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Asks the running stack ({@code up}) one question and prints the answer with its timings. */
@Command(
    name = "ask",
    mixinStandardHelpOptions = true,
    description =
        "Ask the running local stack a question; prints the answer, citations and timings.")
final class AskCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "The question.")
  String question;

  @Option(
      names = "--tenant",
      defaultValue = "acme",
      description = "Tenant (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(names = "--chat", description = "Plain CHAT, no retrieval.")
  boolean chat;

  @Option(names = "--max-tokens", defaultValue = "128", description = "Default: ${DEFAULT-VALUE}.")
  int maxTokens;

  @Option(
      names = "--dir",
      defaultValue = "target/devstack",
      description = "The stack's folder (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--timeout",
      defaultValue = "PT60S",
      description = "How long to wait (ISO-8601, default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Override
  public Integer call() throws Exception {
    Path file = dir.resolve(UpCommand.ENDPOINTS_FILE);
    if (!Files.exists(file)) {
      System.err.println(
          "no running stack: " + file + " is missing; start one with ./streamrag up");
      return 2;
    }
    Properties endpoints = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      endpoints.load(reader);
    }
    String kafka = endpoints.getProperty("kafka.bootstrap-servers");
    String requests = endpoints.getProperty("inference.requests-topic");
    String responses = endpoints.getProperty("inference.responses-topic");
    String id = "ask-" + UUID.randomUUID();
    RecordCodec<InferenceResponse> codec = RecordCodec.of(InferenceResponse.class);
    try (KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(
                Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka,
                    ConsumerConfig.GROUP_ID_CONFIG, id,
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", kafka, "linger.ms", 0),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
      // Position at the end first, so the answer cannot slip past.
      List<TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor(responses)
          .forEach(p -> partitions.add(new TopicPartition(responses, p.partition())));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position);
      producer.partitionsFor(requests); // fetches the metadata the first send would wait for
      // Stamped now, after the clients are connected: the queue time is the system's, not ours.
      InferenceRequest request =
          InferenceRequest.newBuilder()
              .setRequestId(id)
              .setTenantId(tenant)
              .setKind(chat ? RequestKind.CHAT : RequestKind.RAG)
              .setMessages(
                  List.of(
                      ChatMessage.newBuilder().setRole(ChatRole.USER).setContent(question).build()))
              .setMaxTokens(maxTokens)
              .setCreatedAt(Instant.now())
              .build();
      producer
          .send(
              new ProducerRecord<>(
                  requests, id.getBytes(), RecordCodec.of(InferenceRequest.class).encode(request)))
          .get();
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          InferenceResponse response = codec.decode(record.value()).value();
          if (response != null && id.equals(response.getRequestId())) {
            print(response);
            return response.getStatus().name().equals("OK") ? 0 : 1;
          }
        }
      }
    }
    System.err.println("no answer within " + timeout);
    return 1;
  }

  private static void print(InferenceResponse r) {
    System.out.println(
        r.getStatus()
            + (r.getCacheHit().name().equals("NONE")
                ? ""
                : " (cache hit: " + r.getCacheHit() + ")"));
    if (r.getText() != null) {
      System.out.println("\n" + r.getText() + "\n");
    }
    if (r.getError() != null) {
      System.out.println("error " + r.getError().getCode() + ": " + r.getError().getMessage());
    }
    int n = 1;
    for (Citation c : r.getCitations()) {
      System.out.printf(
          Locale.ROOT,
          "[%d] %s %s (score %.3f)%n",
          n++,
          c.getDocId(),
          c.getChunkId(),
          c.getScore());
    }
    StageTimings t = r.getTimings();
    if (t != null) {
      System.out.printf(
          Locale.ROOT,
          "%ntimings ms: queue %s, cache %s, embed %s, retrieve %s, prompt %s, TTFT %s, TPOT %s, LLM %s, total %s%n",
          ms(t.getQueueMs()),
          ms(t.getCacheMs()),
          ms(t.getEmbedMs()),
          ms(t.getRetrieveMs()),
          ms(t.getPromptMs()),
          ms(t.getTtftMs()),
          ms(t.getTpotMs()),
          ms(t.getLlmMs()),
          ms(t.getTotalMs()));
    }
  }

  private static String ms(Double value) {
    return value == null ? "–" : String.format(Locale.ROOT, "%.1f", value);
  }
}
