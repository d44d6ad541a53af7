package dev.streamrag.devstack;

import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.pieces.StreamedAnswer;
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

/**
 * Asks the running stack ({@code up}) one question and prints the answer as it streams (from the
 * pieces topic), then its citations and timings, and when the committed response became readable.
 */
@Command(
    name = "ask",
    mixinStandardHelpOptions = true,
    description =
        "Ask the running local stack a question; prints the answer as it streams, its citations"
            + " and timings.")
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

  @Option(
      names = "--agent",
      description =
          "AGENT: the model calls tools over several steps (search_documents, and the demo MCP"
              + " server's lookup_entity and compute); prints each step.")
  boolean agent;

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
    String pieces = endpoints.getProperty("pieces.topic", "rag.pieces");
    String id = "ask-" + UUID.randomUUID();
    RecordCodec<InferenceResponse> responseCodec = RecordCodec.of(InferenceResponse.class);
    RecordCodec<AnswerPiece> pieceCodec = RecordCodec.of(AnswerPiece.class);
    try (KafkaConsumer<byte[], byte[]> pieceReader = tail(kafka, pieces, "read_uncommitted");
        KafkaConsumer<byte[], byte[]> committedReader = tail(kafka, responses, "read_committed");
        KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", kafka, "linger.ms", 0),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
      producer.partitionsFor(requests); // fetches the metadata the first send would wait for
      // Stamped now, after the clients are connected: the queue time is the system's, not ours.
      InferenceRequest request =
          InferenceRequest.newBuilder()
              .setRequestId(id)
              .setTenantId(tenant)
              .setKind(agent ? RequestKind.AGENT : chat ? RequestKind.CHAT : RequestKind.RAG)
              .setMessages(
                  List.of(
                      ChatMessage.newBuilder().setRole(ChatRole.USER).setContent(question).build()))
              .setMaxTokens(maxTokens)
              .setCreatedAt(Instant.now())
              .build();
      long sent = System.nanoTime();
      producer
          .send(
              new ProducerRecord<>(
                  requests, id.getBytes(), RecordCodec.of(InferenceRequest.class).encode(request)))
          .get();
      StreamedAnswer answer = new StreamedAnswer(id);
      long firstText = 0;
      long deadline = sent + timeout.toNanos();
      while (!answer.finished() && !answer.diverged() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : pieceReader.poll(Duration.ofMillis(50))) {
          AnswerPiece piece = pieceCodec.decode(record.value()).value();
          if (piece == null || !id.equals(piece.getRequestId())) {
            continue;
          }
          StreamedAnswer.Update update = answer.offer(piece);
          if (!update.text().isEmpty()) {
            if (firstText == 0) {
              firstText = System.nanoTime();
              System.out.println();
            }
            System.out.print(update.text()); // as it arrives
            System.out.flush();
          }
        }
      }
      long ended = System.nanoTime();
      if (!answer.finished()) {
        System.err.println(
            answer.diverged()
                ? "\nthe answer was produced again after a failover and differs from what was"
                    + " printed; see the committed response on "
                    + responses
                : "\nno answer within " + timeout);
        return 1;
      }
      System.out.println(firstText == 0 ? "" : "\n");
      print(answer.end(), answer.head());
      System.out.printf(
          Locale.ROOT,
          "this client: first token after %s ms, whole answer after %s ms%n",
          firstText == 0 ? "–" : ms((firstText - sent) / 1e6),
          ms((ended - sent) / 1e6));
      awaitCommitted(committedReader, responseCodec, id, sent);
      return answer.end().getStatus() == ResponseStatus.OK ? 0 : 1;
    }
  }

  /** A consumer of every partition of {@code topic}, from its end. */
  private static KafkaConsumer<byte[], byte[]> tail(String kafka, String topic, String isolation) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka,
                ConsumerConfig.GROUP_ID_CONFIG,
                "streamrag-ask-" + UUID.randomUUID(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                isolation,
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                "50"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    // Position at the end first, so the answer cannot slip past.
    List<TopicPartition> partitions = new ArrayList<>();
    consumer
        .partitionsFor(topic)
        .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position);
    return consumer;
  }

  /** When the exactly-once record of the answer became readable (after the next checkpoint). */
  private void awaitCommitted(
      KafkaConsumer<byte[], byte[]> reader,
      RecordCodec<InferenceResponse> codec,
      String id,
      long sent) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(100))) {
        InferenceResponse response = codec.decode(record.value()).value();
        if (response != null && id.equals(response.getRequestId())) {
          System.out.printf(
              Locale.ROOT,
              "committed response readable (read_committed) after %s ms%n",
              ms((System.nanoTime() - sent) / 1e6));
          printSteps(response);
          return;
        }
      }
    }
    System.out.println("the committed response did not appear within " + timeout);
  }

  /** An agent's steps, from the committed response (the pieces carry only the answer). */
  private static void printSteps(InferenceResponse response) {
    if (response.getAgent() == null) {
      return;
    }
    int n = 1;
    for (var step : response.getAgent().getSteps()) {
      StringBuilder calls = new StringBuilder();
      for (var call : step.getToolCalls()) {
        calls
            .append(calls.length() == 0 ? "" : ", ")
            .append(call.getName())
            .append(call.getOk() ? "" : " (" + call.getErrorCode() + ")")
            .append(' ')
            .append(ms(call.getMs()))
            .append(" ms");
      }
      System.out.printf(
          Locale.ROOT,
          "step %d: LLM %s ms%s%s, loop %s ms%n",
          n++,
          ms(step.getLlmMs()),
          calls.length() == 0 ? ", answered" : ", then " + calls,
          step.getReplayed() ? " (replayed)" : "",
          ms(step.getOverheadMs()));
    }
  }

  private static void print(AnswerPiece end, AnswerPiece head) {
    System.out.println(
        end.getStatus()
            + (end.getCacheHit().name().equals("NONE")
                ? ""
                : " (cache hit: " + end.getCacheHit() + ")"));
    if (end.getError() != null) {
      System.out.println("error " + end.getError().getCode() + ": " + end.getError().getMessage());
    }
    int n = 1;
    for (Citation c : head == null ? List.<Citation>of() : head.getCitations()) {
      System.out.printf(
          Locale.ROOT,
          "[%d] %s %s (score %.3f)%n",
          n++,
          c.getDocId(),
          c.getChunkId(),
          c.getScore());
    }
    StageTimings t = end.getTimings();
    if (t != null) {
      System.out.printf(
          Locale.ROOT,
          "%nin-job timings ms: queue %s, cache %s, embed %s, retrieve %s, prompt %s, LLM TTFT %s, TPOT %s, LLM %s, until the end left the job %s%n",
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
