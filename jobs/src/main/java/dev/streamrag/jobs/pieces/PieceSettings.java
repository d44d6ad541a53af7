package dev.streamrag.jobs.pieces;

import dev.streamrag.jobs.kafka.IsolatedTenants;
import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.security.KafkaClientSettings;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Where and how answers' pieces are published.
 *
 * @param kafka the Kafka brokers and client properties
 * @param topic the pieces topic requests go to unless they name another
 * @param replyTopics further topics a request's replyTo may name (a gateway fleet's own topic)
 * @param format Avro single-object encoding or plain JSON
 * @param coalesceTokens a DELTA piece is sent once it holds this many tokens (the first token of an
 *     answer always goes alone, at once)
 * @param coalesceWait or once its oldest token has waited this long
 * @param linger the producer's linger.ms: how long Kafka may hold a piece to batch it with others
 * @param isolated tenants whose pieces go to their own topic, {@code <topic>.<tenant>}, whatever
 *     their requests' replyTo says
 */
public record PieceSettings(
    KafkaClientSettings kafka,
    String topic,
    List<String> replyTopics,
    RecordFormat format,
    int coalesceTokens,
    Duration coalesceWait,
    Duration linger,
    IsolatedTenants isolated)
    implements Serializable {

  public PieceSettings {
    Objects.requireNonNull(kafka, "kafka is required but not provided");
    Objects.requireNonNull(topic, "topic is required but not provided");
    replyTopics = replyTopics == null ? List.of() : List.copyOf(replyTopics);
    Objects.requireNonNull(format, "format is required but not provided");
    if (coalesceTokens < 1) {
      throw new IllegalArgumentException(
          "coalesceTokens must be at least 1, got " + coalesceTokens);
    }
    if (coalesceWait == null || coalesceWait.isNegative()) {
      throw new IllegalArgumentException("coalesceWait must be zero or positive");
    }
    if (linger == null || linger.isNegative()) {
      throw new IllegalArgumentException("linger must be zero or positive");
    }
    isolated = isolated == null ? IsolatedTenants.none() : isolated;
  }

  /** Whether a request may name {@code replyTopic} (null: the default topic). */
  public boolean allows(String replyTopic) {
    return replyTopic == null || replyTopic.equals(topic) || replyTopics.contains(replyTopic);
  }
}
