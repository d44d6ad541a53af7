package dev.streamrag.devstack;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.jobs.kafka.TopicCatalog;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** kafka/topics.yaml and the jobs agree: one source of truth for the topic names. */
class TopicCatalogTest {
  @Test
  void theCatalogHoldsExactlyTheTopicsTheJobsUseByDefault() {
    Set<String> used =
        new TreeSet<>(
            List.of(
                IngestOptions.DOCUMENTS_TOPIC.defaultValue(),
                IngestOptions.DEAD_LETTER_TOPIC.defaultValue(),
                InferenceOptions.REQUESTS_TOPIC.defaultValue(),
                InferenceOptions.RESPONSES_TOPIC.defaultValue(),
                InferenceOptions.LATENCY_TOPIC.defaultValue(),
                InferenceOptions.PIECES_TOPIC.defaultValue(),
                InferenceOptions.DEAD_LETTER_TOPIC.defaultValue()));
    List<TopicCatalog.Topic> topics = TopicCatalog.bundled();
    assertThat(new TreeSet<>(topics.stream().map(TopicCatalog.Topic::name).toList()))
        .isEqualTo(used);
    for (TopicCatalog.Topic topic : topics) {
      assertThat(topic.partitions()).as(topic.name()).isPositive();
      assertThat(topic.replicas()).as(topic.name()).isEqualTo(3);
      assertThat(topic.config()).as(topic.name()).containsKey("cleanup.policy");
    }
    // Documents are keyed by id: compaction keeps the latest version of each.
    assertThat(
            topics.stream()
                .filter(t -> t.name().equals("rag.documents"))
                .findFirst()
                .orElseThrow()
                .config())
        .containsEntry("cleanup.policy", "compact");
  }
}
