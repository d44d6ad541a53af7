package dev.streamrag.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.embed.SentenceEmbedder;
import dev.streamrag.jobs.kafka.DecodingDeserializer;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import dev.streamrag.jobs.retrieve.KnnRetriever;
import dev.streamrag.jobs.retrieve.RetrievedChunk;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Either;
import org.apache.http.HttpHost;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.opensearch.client.Request;
import org.opensearch.client.RestClient;

/**
 * The ingest job end to end on a MiniCluster with real Kafka and OpenSearch: demo-corpus documents
 * become searchable by meaning, re-ingesting leaves no duplicates, a deleted document disappears,
 * and malformed or oversized records go to the dead-letter topic while the rest is indexed.
 */
@Timeout(300)
class IngestJobIT {
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
  private static final RecordCodec<Document> CODEC = RecordCodec.of(Document.class);
  private static final DemoCorpus CORPUS = DemoCorpus.generate(11, 120, List.of("acme", "globex"));

  private static String suffix;
  private static Configuration config;
  private static RestClient opensearch;

  @BeforeAll
  static void setUp() throws Exception {
    suffix = UUID.randomUUID().toString().substring(0, 8);
    URI url = OPENSEARCH.uri();
    config =
        JobConfig.load(
            new String[] {
              "--kafka.bootstrap-servers",
              KAFKA.bootstrapServers(),
              "--ingest.documents-topic",
              "docs-" + suffix,
              "--ingest.dead-letter-topic",
              "dlq-" + suffix,
              "--opensearch.url",
              url.toString(),
              "--ingest.index",
              "chunks-" + suffix,
              "--ingest.max-document-chars",
              "20000",
              "--ingest.bulk-flush-actions",
              "100",
              "--embedding.batch-size",
              "16"
            },
            Map.of(),
            IngestOptions.ALL);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic("docs-" + suffix, 1, (short) 1),
                  new NewTopic("dlq-" + suffix, 1, (short) 1)))
          .all()
          .get();
    }
    assertThat(KnnIndex.createIfMissing(url, "chunks-" + suffix, 384, 1, 0)).isTrue();
    assertThat(KnnIndex.createIfMissing(url, "chunks-" + suffix, 384, 1, 0)).isFalse();
    opensearch =
        RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme())).build();
  }

  @AfterAll
  static void tearDown() throws Exception {
    opensearch.close();
  }

  private static void produce(List<byte[]> values) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", KAFKA.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      for (byte[] value : values) {
        producer.send(new ProducerRecord<>("docs-" + suffix, value)).get();
      }
    }
  }

  /** Runs the job over everything on the topic so far, then stops. */
  private static void runJob() throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    env.getConfig().disableGenericTypes();
    KafkaSource<Either<DeadLetter, Document>> source =
        KafkaSource.<Either<DeadLetter, Document>>builder()
            .setBootstrapServers(KAFKA.bootstrapServers())
            .setTopics("docs-" + suffix)
            .setGroupId("it-" + UUID.randomUUID())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(new DecodingDeserializer<>(Document.class, IngestJob.NAME))
            .build();
    new IngestJob(config)
        .build(
            env.fromSource(source, IngestJob.watermarks(), "documents"),
            IngestJob.index(config),
            IngestJob.deadLetterSink(config));
    env.execute("ingest-it");
    opensearch.performRequest(new Request("POST", "/chunks-" + suffix + "/_refresh"));
  }

  private static JsonNode search(ObjectNode body) throws Exception {
    Request request = new Request("POST", "/chunks-" + suffix + "/_search");
    request.setJsonEntity(body.toString());
    return JSON.readTree(opensearch.performRequest(request).getEntity().getContent());
  }

  private static long count(String docId) throws Exception {
    ObjectNode body = JSON.createObjectNode().put("size", 0).put("track_total_hits", true);
    if (docId != null) {
      body.putObject("query").putObject("term").put(ChunkIndex.DOC_ID, docId);
    }
    return search(body).at("/hits/total/value").asLong();
  }

  @Test
  void documentsBecomeSearchableWithoutDuplicatesDeletesRemoveAndBadInputIsDeadLettered()
      throws Exception {
    List<byte[]> values = new ArrayList<>();
    for (Document doc : CORPUS.documents()) {
      values.add(CODEC.encodeJson(doc));
    }
    values.add("{\"docId\": \"broken\", not json".getBytes(UTF_8));
    Document huge = Document.newBuilder(CORPUS.documents().get(0)).setDocId("huge").build();
    huge.setText("word ".repeat(10_000));
    values.add(CODEC.encode(huge));
    produce(values);

    runJob();
    long chunks = count(null);
    assertThat(chunks).isGreaterThanOrEqualTo(CORPUS.documents().size());
    assertThat(count("huge")).isZero();

    // Search by meaning: the question's vector finds the document that answers it, per tenant.
    int found = 0;
    List<QaPair> questions = CORPUS.questions().subList(0, 30);
    try (SentenceEmbedder embedder =
            SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu());
        KnnRetriever retriever =
            KnnRetriever.builder().url(OPENSEARCH.uri()).index("chunks-" + suffix).build()) {
      for (QaPair qa : questions) {
        float[] vector = embedder.embed(qa.question(), EmbeddingPurpose.QUERY);
        List<RetrievedChunk> top = retriever.topK(qa.tenantId(), vector, 5).get();
        assertThat(top).allSatisfy(c -> assertThat(c.tenantId()).isEqualTo(qa.tenantId()));
        if (top.stream().anyMatch(c -> c.docId().equals(qa.docId()))) {
          found++;
        }
      }
    }
    assertThat(found).as("questions whose document is in the top 5").isGreaterThanOrEqualTo(28);

    // Re-ingesting the same documents rewrites the same chunk ids.
    produce(values.subList(0, 10));
    runJob();
    assertThat(count(null)).isEqualTo(chunks);

    // A delete removes every chunk of the document, and nothing else.
    String gone = CORPUS.documents().get(3).getDocId().toString();
    long goneChunks = count(gone);
    assertThat(goneChunks).isPositive();
    Document delete = Document.newBuilder(CORPUS.documents().get(3)).setDeleted(true).build();
    produce(List.of(CODEC.encodeJson(delete)));
    runJob();
    assertThat(count(gone)).isZero();
    assertThat(count(null)).isEqualTo(chunks - goneChunks);

    // Each run read the whole topic, so each bad record was dead-lettered once per run.
    List<DeadLetter> dead = DeadLetterTopic.read(KAFKA.bootstrapServers(), "dlq-" + suffix, 6);
    assertThat(dead)
        .extracting(d -> d.getReasonCode().toString())
        .contains("decode.malformed_json", "document.too_large");
    assertThat(dead)
        .filteredOn(d -> d.getReasonCode().toString().equals("document.too_large"))
        .allSatisfy(d -> assertThat(d.getRequestId().toString()).isEqualTo("huge"));
  }
}
