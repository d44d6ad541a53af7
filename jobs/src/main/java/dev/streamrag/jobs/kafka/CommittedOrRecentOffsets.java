package dev.streamrag.jobs.kafka;

import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a Kafka source starts: the consumer group's committed offset where it has one, else the
 * first record of the last {@code lookback} (by record timestamp), else the end. A new consumer
 * group (a renamed job, a fresh deployment) thereby does not replay a week of old requests, each of
 * which could only time out, while requests written just before the job started are still served. A
 * restore from a checkpoint or savepoint ignores this: the offsets come from the snapshot.
 */
public final class CommittedOrRecentOffsets implements OffsetsInitializer {
  private static final long serialVersionUID = 1L;

  private final Duration lookback;
  private final Clock clock;

  public CommittedOrRecentOffsets(Duration lookback) {
    this(lookback, Clock.systemUTC());
  }

  CommittedOrRecentOffsets(Duration lookback, Clock clock) {
    Objects.requireNonNull(lookback, "lookback");
    if (lookback.isNegative()) {
      throw new IllegalArgumentException("the lookback must not be negative, was " + lookback);
    }
    this.lookback = lookback;
    this.clock = clock;
  }

  @Override
  public Map<TopicPartition, Long> getPartitionOffsets(
      Collection<TopicPartition> partitions, PartitionOffsetsRetriever retriever) {
    Map<TopicPartition, Long> offsets = new HashMap<>();
    Map<TopicPartition, Long> committed = retriever.committedOffsets(partitions);
    Map<TopicPartition, Long> since = new HashMap<>();
    long from = Math.max(0, clock.millis() - lookback.toMillis());
    for (TopicPartition partition : partitions) {
      Long offset = committed.get(partition);
      if (offset != null && offset >= 0) {
        offsets.put(partition, offset);
      } else {
        since.put(partition, from);
      }
    }
    if (since.isEmpty()) {
      return offsets;
    }
    Map<TopicPartition, OffsetAndTimestamp> recent = retriever.offsetsForTimes(since);
    List<TopicPartition> noneRecent =
        since.keySet().stream().filter(partition -> recent.get(partition) == null).toList();
    Map<TopicPartition, Long> ends =
        noneRecent.isEmpty() ? Map.of() : retriever.endOffsets(noneRecent);
    for (TopicPartition partition : since.keySet()) {
      OffsetAndTimestamp first = recent.get(partition);
      offsets.put(partition, first != null ? first.offset() : ends.get(partition));
    }
    return offsets;
  }

  /** An offset out of range (the retention removed it) resumes at the newest records. */
  @Override
  public OffsetResetStrategy getAutoOffsetResetStrategy() {
    return OffsetResetStrategy.LATEST;
  }

  @Override
  public String toString() {
    return "committed offsets, else records of the last " + lookback;
  }
}
