package dev.streamrag.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.corpus.CorpusFiles;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.http.HttpHost;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.opensearch.client.Request;
import org.opensearch.client.RestClient;

/**
 * A bulk load from a directory: demo-corpus JSONL and a Markdown file are indexed; a broken JSONL
 * line and an unsupported file become dead letters (collected through an accumulator).
 */
@Timeout(300)
class IngestFilesIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void loadsJsonlAndMarkdownAndDeadLettersWhatItCannotRead(@TempDir Path dir) throws Exception {
    DemoCorpus corpus = DemoCorpus.generate(3, 40, List.of("acme"));
    CorpusFiles.write(corpus, dir.resolve("corpus"));
    Files.delete(dir.resolve("corpus").resolve(CorpusFiles.QUESTIONS));
    Files.writeString(dir.resolve("corpus").resolve("broken.jsonl"), "{\"docId\": 1\n");
    Files.createDirectories(dir.resolve("guides"));
    Files.writeString(
        dir.resolve("guides").resolve("setup.md"),
        "# Setting up the widget\n\nTurn the blue dial until the lamp glows green.\n");
    Files.writeString(dir.resolve("image.png"), "not text");

    String index = "files-" + UUID.randomUUID().toString().substring(0, 8);
    URI url = OPENSEARCH.uri();
    Configuration config =
        JobConfig.load(
            new String[] {
              "--ingest.kafka-enabled",
              "false",
              "--ingest.files",
              dir.toString(),
              "--ingest.files-tenant",
              "docs-team",
              "--opensearch.url",
              url.toString(),
              "--kafka.bootstrap-servers",
              KAFKA.bootstrapServers(),
              "--ingest.dead-letter-topic",
              "dlq-" + index,
              "--ingest.index",
              index
            },
            Map.of(),
            IngestOptions.ALL);
    KnnIndex.createIfMissing(url, index, 384, 1, 0);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic("dlq-" + index, 1, (short) 1))).all().get();
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    new IngestJob(config)
        .build(
            IngestJobMain.sources(env, config),
            IngestJob.index(config),
            IngestJob.deadLetterSink(config));
    env.execute("ingest-files-it");

    List<String> reasons =
        DeadLetterTopic.read(KAFKA.bootstrapServers(), "dlq-" + index, 2).stream()
            .map(letter -> letter.getReasonCode() + " " + letter.getReason())
            .toList();
    assertThat(reasons).hasSize(2);
    assertThat(reasons)
        .anySatisfy(
            r -> assertThat(r).startsWith("decode.").contains("corpus/broken.jsonl line 1"));
    assertThat(reasons)
        .anySatisfy(r -> assertThat(r).startsWith("file.unsupported").contains("image.png"));

    try (RestClient client =
        RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme())).build()) {
      client.performRequest(new Request("POST", "/" + index + "/_refresh"));
      Request count = new Request("GET", "/" + index + "/_count");
      assertThat(
              JSON.readTree(client.performRequest(count).getEntity().getContent())
                  .get("count")
                  .asLong())
          .isEqualTo(41);
      JsonNode guide =
          JSON.readTree(
              client
                  .performRequest(
                      new Request("GET", "/" + index + "/_doc/docs-team:guides%2Fsetup.md:0"))
                  .getEntity()
                  .getContent());
      assertThat(guide.at("/_source/title").asText()).isEqualTo("Setting up the widget");
      assertThat(guide.at("/_source/tenant_id").asText()).isEqualTo("docs-team");
      assertThat(guide.at("/_source/text").asText()).contains("blue dial");
    }
  }
}
