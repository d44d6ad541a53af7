package dev.streamrag.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.gateway.kafka.KafkaSettings;
import dev.streamrag.gateway.kafka.ReplyPartitionListener;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reply partition consumer survives a failure while reading: it reports the loss (the gateway
 * fails the requests open then), is created again, reads from the end, and goes on.
 */
@Timeout(120)
class ReplyPartitionListenerIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  private static final String TOPIC = "listener-it.pieces";

  @Test
  void aFailureWhileReadingIsReportedAndTheConsumerComesBack() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    BlockingQueue<String> handled = new LinkedBlockingQueue<>();
    AtomicInteger lost = new AtomicInteger();
    KafkaSettings settings =
        new KafkaSettings(KAFKA.bootstrapServers(), "unused", TOPIC, 0, Duration.ofSeconds(2));
    try (ReplyPartitionListener listener =
            new ReplyPartitionListener(
                settings,
                (key, value) -> {
                  if (key.equals("boom")) {
                    throw new IllegalStateException("a bug in the handler");
                  }
                  handled.add(key);
                },
                lost::incrementAndGet);
        KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers(),
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                        ByteArraySerializer.class.getName()))) {
      listener.start();
      assertThat(listener.awaitPositioned(Duration.ofSeconds(30))).isTrue();
      send(producer, "a");
      assertThat(handled.poll(15, TimeUnit.SECONDS)).isEqualTo("a");

      send(producer, "boom");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (lost.get() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(lost.get()).as("the loss was reported").isEqualTo(1);
      assertThat(listener.awaitPositioned(Duration.ofSeconds(30))).as("positioned again").isTrue();

      send(producer, "b");
      assertThat(handled.poll(15, TimeUnit.SECONDS)).isEqualTo("b");
      assertThat(lost.get()).isEqualTo(1);
    }
  }

  private static void send(KafkaProducer<String, byte[]> producer, String key) throws Exception {
    producer
        .send(new ProducerRecord<>(TOPIC, 0, key, key.getBytes(StandardCharsets.UTF_8)))
        .get(15, TimeUnit.SECONDS);
  }
}
