package dev.streamrag.jobs.pieces;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import dev.streamrag.security.KafkaClientSettings;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shared pieces producer against a real broker: sharing, order, bad addresses, oversized
 * pieces, an unreachable Kafka. (A piece Kafka loses is repaired by its stream: AnswerStreamTest.)
 */
class PiecePublisherIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  private static final String TOPIC = "pieces-" + RUN;

  @BeforeAll
  static void topics() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1))).all().get();
    }
  }

  private static PieceSettings settings(String topic) {
    return new PieceSettings(
        KafkaClientSettings.plaintext(KAFKA.bootstrapServers()),
        topic,
        List.of(),
        RecordFormat.AVRO,
        4,
        Duration.ofMillis(5),
        Duration.ZERO,
        null);
  }

  @Test
  void oneProducerIsSharedUntilItsLastReleaseAndAnAnswerArrivesInOrder() throws Exception {
    PiecePublisher first = PiecePublisher.acquire(settings(TOPIC));
    PiecePublisher second = PiecePublisher.acquire(settings(TOPIC));
    assertThat(second).isSameAs(first);
    Counting metrics = new Counting();
    StringBuilder expected = new StringBuilder();
    AnswerStream stream =
        first.open(new PieceDestination(TOPIC, 1, "r-order"), "r-order", "acme", 1, metrics);
    stream.head(RequestKind.CHAT, "m", List.of(), CacheHitKind.NONE, Instant.EPOCH);
    for (int i = 0; i < 200; i++) {
      expected.append("t").append(i).append(' ');
      stream.text("t" + i + " ");
    }
    stream.end(ok("r-order"), new StageTimings());
    assertThat(first.flush()).isTrue();
    first.release();
    second.release();
    second.release(); // once too often: harmless

    StreamedAnswer answer = read(TOPIC, "r-order", 1);
    assertThat(answer.finished()).isTrue();
    assertThat(answer.text()).isEqualTo(expected.toString());
    assertThat(answer.duplicates() + answer.stale()).isZero();
    assertThat(metrics.failed.get() + metrics.undeliverable.get()).isZero();
    assertThat(PiecePublisher.acquire(settings(TOPIC)))
        .as("a new one after the last release")
        .isNotSameAs(first)
        .satisfies(PiecePublisher::release);
  }

  @Test
  void aPartitionTheTopicLacksIsUndeliverableAndNotRepeated() throws Exception {
    PiecePublisher publisher = PiecePublisher.acquire(settings(TOPIC));
    Counting metrics = new Counting();
    AnswerStream stream =
        publisher.open(
            new PieceDestination(TOPIC, 9, "r-nowhere"), "r-nowhere", "acme", 1, metrics);
    stream.head(RequestKind.CHAT, "m", List.of(), CacheHitKind.NONE, Instant.EPOCH);
    stream.text("hello");
    stream.end(ok("r-nowhere"), new StageTimings());
    assertThat(publisher.flush()).isTrue();
    Thread.sleep(500); // a repair, were one started, would be due by now
    publisher.flush();
    publisher.release();

    assertThat(metrics.undeliverable.get()).isEqualTo(3);
    assertThat(metrics.repairs.get()).isZero();
  }

  @Test
  void aLongTextGoesInSeveralPiecesAndAnOversizedPieceNeverReachesKafka() throws Exception {
    PiecePublisher publisher = PiecePublisher.acquire(settings(TOPIC));
    Counting metrics = new Counting();
    // A megabyte of cached answer (with an emoji where a piece boundary might cut it in half).
    String text = ("x".repeat(AnswerStream.MAX_DELTA_CHARS - 1) + "\uD83D\uDE00").repeat(64);
    AnswerStream whole =
        publisher.open(new PieceDestination(TOPIC, 0, "r-long"), "r-long", "acme", 1, metrics);
    whole.head(RequestKind.CHAT, "m", List.of(), CacheHitKind.RESPONSE, Instant.EPOCH);
    whole.whole(text, 300_000);
    whole.end(ok("r-long"), new StageTimings());
    // A head no broker would take (a title of 300k characters): refused before Kafka sees it.
    Counting oversized = new Counting();
    AnswerStream huge =
        publisher.open(new PieceDestination(TOPIC, 0, "r-huge"), "r-huge", "acme", 1, oversized);
    huge.head(
        RequestKind.RAG,
        "m",
        List.of(new Citation("d", "d#0", 1.0, "t".repeat(300_000), null)),
        CacheHitKind.NONE,
        Instant.EPOCH);
    huge.text("hello");
    assertThat(publisher.flush()).isTrue();
    publisher.release();

    StreamedAnswer answer = read(TOPIC, "r-long", 0);
    assertThat(answer.text()).isEqualTo(text);
    assertThat(answer.applied()).as("HEAD, 65 DELTAs, END").isEqualTo(67);
    assertThat(metrics.failed.get() + metrics.undeliverable.get()).isZero();
    assertThat(oversized.undeliverable.get()).isEqualTo(1);
    assertThat(oversized.repairs.get()).isZero();
  }

  @Test
  void aCheckpointWaitsForAnUnreachableKafkaOnlyBoundedly() throws Exception {
    PiecePublisher publisher =
        PiecePublisher.acquire(
            new PieceSettings(
                KafkaClientSettings.plaintext("127.0.0.1:1"), // nothing listens there
                TOPIC,
                List.of(),
                RecordFormat.AVRO,
                4,
                Duration.ofMillis(5),
                Duration.ZERO,
                null));
    Counting metrics = new Counting();
    AnswerStream stream =
        publisher.open(new PieceDestination(TOPIC, null, "r-down"), "r-down", "acme", 1, metrics);
    long started = System.nanoTime();
    stream.head(RequestKind.CHAT, "m", List.of(), CacheHitKind.NONE, Instant.EPOCH);
    long handedOver = System.nanoTime();

    publisher.flush();

    long waited = System.nanoTime() - handedOver;
    assertThat(handedOver - started)
        .as("handing a piece over never waits for Kafka")
        .isLessThan(Duration.ofSeconds(1).toNanos());
    assertThat(waited)
        .as("a checkpoint waits at most the flush timeout, plus scheduling")
        .isLessThan(PiecePublisher.FLUSH_TIMEOUT.plusSeconds(3).toNanos());
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (metrics.failed.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(metrics.failed.get()).as("the lost piece is counted").isPositive();
    publisher.release();
  }

  private static StreamedAnswer read(String topic, String id, int partition) {
    RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
    StreamedAnswer answer = new StreamedAnswer(id);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                KAFKA.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "it-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      List<Integer> partitions = new ArrayList<>();
      while (!answer.finished() && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          AnswerPiece piece = codec.decode(record.value()).value();
          if (piece != null && id.equals(piece.getRequestId())) {
            answer.offer(piece);
            partitions.add(record.partition());
          }
        }
      }
      assertThat(partitions).as("every piece on the partition named").containsOnly(partition);
    }
    return answer;
  }

  private static InferenceResponse ok(String id) {
    return InferenceResponse.newBuilder()
        .setRequestId(id)
        .setTenantId("acme")
        .setStatus(ResponseStatus.OK)
        .setCompletedAt(Instant.EPOCH)
        .build();
  }

  /** Counts what the publisher reports (from its threads, hence atomics). */
  private static final class Counting implements PieceMetrics {
    final AtomicInteger sent = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    final AtomicInteger undeliverable = new AtomicInteger();
    final AtomicInteger repairs = new AtomicInteger();
    final AtomicInteger gaveUp = new AtomicInteger();

    @Override
    public void sent(int bytes) {
      sent.incrementAndGet();
    }

    @Override
    public void failed() {
      failed.incrementAndGet();
    }

    @Override
    public void undeliverable() {
      undeliverable.incrementAndGet();
    }

    @Override
    public void repaired() {
      repairs.incrementAndGet();
    }

    @Override
    public void gaveUp() {
      gaveUp.incrementAndGet();
    }
  }
}
