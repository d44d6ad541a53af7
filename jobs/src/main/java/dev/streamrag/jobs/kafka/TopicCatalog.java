package dev.streamrag.jobs.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * The platform's topics as {@code kafka/topics.yaml} declares them (Strimzi {@code KafkaTopic}
 * resources, bundled in this jar), and their creation on a Kafka without the Strimzi operator: the
 * local stack.
 */
public final class TopicCatalog {
  static final String RESOURCE = "/streamrag/kafka/topics.yaml";

  private TopicCatalog() {}

  /** One topic: its name, partitions, replicas and topic-level configuration. */
  public record Topic(String name, int partitions, int replicas, Map<String, String> config) {}

  public static List<Topic> bundled() {
    try (InputStream in = TopicCatalog.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the jar");
      }
      return parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  static List<Topic> parse(InputStream yaml) throws IOException {
    List<Topic> topics = new ArrayList<>();
    try (MappingIterator<JsonNode> documents =
        new YAMLMapper().readerFor(JsonNode.class).readValues(yaml)) {
      while (documents.hasNext()) {
        JsonNode resource = documents.next();
        if (resource == null || resource.isEmpty()) {
          continue;
        }
        if (!"KafkaTopic".equals(resource.path("kind").asText())) {
          throw new IllegalArgumentException("not a KafkaTopic: " + resource.path("kind").asText());
        }
        JsonNode spec = resource.path("spec");
        String name =
            spec.path("topicName").asText(resource.path("metadata").path("name").asText());
        Map<String, String> config = new LinkedHashMap<>();
        spec.path("config")
            .fields()
            .forEachRemaining(f -> config.put(f.getKey(), f.getValue().asText()));
        topics.add(
            new Topic(
                name, spec.path("partitions").asInt(1), spec.path("replicas").asInt(1), config));
      }
    }
    return topics;
  }

  /**
   * Creates the topics that {@code admin}'s cluster lacks, with at most {@code maxReplicas}
   * replicas (one on a single local broker, where {@code min.insync.replicas} is dropped too).
   */
  public static void createMissing(Admin admin, List<Topic> topics, int maxReplicas)
      throws InterruptedException, ExecutionException {
    Set<String> existing = admin.listTopics().names().get();
    List<NewTopic> missing = new ArrayList<>();
    for (Topic topic : topics) {
      if (existing.contains(topic.name())) {
        continue;
      }
      short replicas = (short) Math.min(topic.replicas(), maxReplicas);
      Map<String, String> config = new LinkedHashMap<>(topic.config());
      if (replicas < topic.replicas()) {
        config.remove("min.insync.replicas");
      }
      missing.add(new NewTopic(topic.name(), topic.partitions(), replicas).configs(config));
    }
    if (!missing.isEmpty()) {
      admin.createTopics(missing).all().get();
    }
  }
}
