package dev.streamrag.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.ingest.index.ChunkIndexWriter;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.retrieve.ChunkIndex;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.ids.Identifiers;
import dev.streamrag.testsupport.junit.KafkaExtension;
import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.http.HttpHost;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.opensearch.client.Request;
import org.opensearch.client.RestClient;

/**
 * Hostile records fed to the running ingest job (issue 16): identifiers that break the rules or
 * would make two tenants' chunk ids collide, oversized and garbage records, wrong types, missing
 * fields, control characters, text without tokens, documents OpenSearch refuses (a field mapped
 * with a conflicting type, as an index from an older release might have it), a JSONL file with a
 * line larger than the record limit, and random mutations of valid documents with a fixed seed.
 *
 * <p>The job runs with no restart strategy, so a single task failure fails it. At the end it must
 * still be running, and every record must have exactly one outcome: its document searchable in
 * OpenSearch, exactly one dead letter, or (a delete, or text that is empty once control characters
 * are removed) its document absent.
 */
@Timeout(300)
class IngestHostileInputIT {
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
  private static final int MAX_RECORD_BYTES = 1 << 20;
  private static final int MAX_DOCUMENT_CHARS = 20_000;

  /** One record fed to the job: its Kafka key (unique), value, and the class it stands for. */
  record Fed(String key, byte[] value, String kind) {}

  @Test
  void noHostileRecordFailsATaskAndEachEndsExactlyOnce(@TempDir Path dir) throws Exception {
    long started = System.nanoTime();
    String run = UUID.randomUUID().toString().substring(0, 8);
    String topic = "hostile-docs-" + run;
    String dlq = "hostile-dlq-" + run;
    String index = "hostile-chunks-" + run;
    URI url = OPENSEARCH.uri();

    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin
          .createTopics(
              List.of(
                  // Accepts records over 1 MiB, so the job's own limit is what refuses them.
                  new NewTopic(topic, 1, (short) 1)
                      .configs(Map.of("max.message.bytes", String.valueOf(4 << 20))),
                  new NewTopic(dlq, 1, (short) 1)))
          .all()
          .get();
    }
    try (RestClient opensearch =
        RestClient.builder(new HttpHost(url.getHost(), url.getPort(), url.getScheme())).build()) {
      // The chunk index, but with `source` mapped as a number: OpenSearch refuses every chunk
      // whose document has a textual source (a real per-item 400, mapper_parsing_exception).
      ObjectNode definition = ChunkIndex.definition(384, 1, 0);
      ((ObjectNode) definition.at("/mappings/properties/" + ChunkIndex.SOURCE)).put("type", "long");
      Request create = new Request("PUT", "/" + index);
      create.setJsonEntity(definition.toString());
      opensearch.performRequest(create);

      Path files = dir.resolve("files");
      Files.createDirectories(files);
      writeJsonlWithAHugeLine(files.resolve("in.jsonl"));

      List<Fed> fed = HostileDocuments.all(new Random(16));
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(
              Map.of(
                  "bootstrap.servers",
                  KAFKA.bootstrapServers(),
                  "linger.ms",
                  5,
                  "max.request.size",
                  4 << 20),
              new ByteArraySerializer(),
              new ByteArraySerializer())) {
        for (Fed record : fed) {
          producer.send(new ProducerRecord<>(topic, record.key().getBytes(UTF_8), record.value()));
        }
        producer.flush();
      }

      Configuration config =
          JobConfig.load(
              new String[] {
                "--kafka.bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--ingest.documents-topic",
                topic,
                "--ingest.dead-letter-topic",
                dlq,
                "--ingest.consumer-group",
                "hostile-" + run,
                "--ingest.files",
                files.toString(),
                "--opensearch.url",
                url.toString(),
                "--ingest.index",
                index,
                "--ingest.max-document-chars",
                String.valueOf(MAX_DOCUMENT_CHARS),
                "--ingest.max-record-bytes",
                String.valueOf(MAX_RECORD_BYTES),
                "--ingest.bulk-flush-interval",
                "200 ms",
                "--ingest.index-flush-timeout",
                "20 s",
                "--embedding.batch-size",
                "16"
              },
              Map.of(),
              IngestOptions.ALL);
      Configuration flink = new Configuration();
      flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one task failure fails the job
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      env.setParallelism(1);
      env.getConfig().disableGenericTypes();
      env.enableCheckpointing(1000);
      IngestJobMain.buildOnConfiguredIo(env, config);
      JobClient job = env.executeAsync("ingest-hostile-input");
      awaitRunning(job);

      Map<String, Expected> expected = expectations(fed);
      try (KafkaConsumer<byte[], byte[]> letters = consumer(dlq)) {
        List<DeadLetter> dead = new ArrayList<>();
        Map<String, Integer> outcomes = Map.of();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
          assertRunning(job);
          poll(letters, dead, Duration.ofMillis(500));
          opensearch.performRequest(new Request("POST", "/" + index + "/_refresh"));
          outcomes = outcomes(expected, dead, visible(opensearch, index));
          boolean sentinel = visible(opensearch, index).contains("acme\u0000sentinel");
          if (sentinel && outcomes.values().stream().allMatch(n -> n >= 1) && fileDone(dead)) {
            break;
          }
        }
        // Another checkpoint's worth of time: a duplicate dead letter would show up here.
        Thread.sleep(1_500);
        poll(letters, dead, Duration.ofMillis(1_000));
        opensearch.performRequest(new Request("POST", "/" + index + "/_refresh"));
        Set<String> visible = visible(opensearch, index);
        outcomes = outcomes(expected, dead, visible);
        try {
          assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
          Map<String, Integer> notOnce = new LinkedHashMap<>();
          outcomes.forEach(
              (key, n) -> {
                if (n != 1) {
                  notOnce.put(key + " (" + expected.get(key).kind + ")", n);
                }
              });
          assertThat(notOnce).as("records without exactly one outcome").isEmpty();

          Map<String, DeadLetter> byKey = attribute(dead, expected);
          // Identifier rules.
          assertThat(codesOf(byKey, fed, "tenant-id")).containsOnly("validation.tenant_id");
          assertThat(codesOf(byKey, fed, "doc-id")).containsOnly("validation.doc_id");
          // The collision: tenant "a:b" with doc "c" is refused, upsert and delete alike, and
          // tenant "a"'s doc "b:c" (chunk id a:b:c:0) survives both.
          assertThat(byKey.get("collide-upsert").getReasonCode()).isEqualTo("validation.tenant_id");
          assertThat(byKey.get("collide-delete").getReasonCode()).isEqualTo("validation.tenant_id");
          assertThat(visible).contains("a\u0000b:c", "a\u0000b");
          JsonNode survivor =
              JSON.readTree(
                  opensearch
                      .performRequest(new Request("GET", "/" + index + "/_doc/a:b:c:0"))
                      .getEntity()
                      .getContent());
          assertThat(survivor.at("/_source/tenant_id").asText()).isEqualTo("a");
          assertThat(survivor.at("/_source/doc_id").asText()).isEqualTo("b:c");
          // Garbage, too large, wrong types, missing fields: decode.* with the record's key.
          assertThat(codesOf(byKey, fed, "garbage")).allMatch(c -> c.startsWith("decode."));
          assertThat(byKey.get("garbage-oversized").getReasonCode()).isEqualTo("decode.too_large");
          assertThat(byKey.get("garbage-oversized").getPayload().remaining())
              .isLessThanOrEqualTo(256 * 1024);
          assertThat(byKey.get("content-too-large").getReasonCode())
              .isEqualTo("document.too_large");
          assertThat(byKey.get("content-title").getReasonCode()).isEqualTo("validation.title");
          assertThat(byKey.get("content-source").getReasonCode()).isEqualTo("validation.source");
          assertThat(byKey.get("content-no-tokens").getReasonCode())
              .isEqualTo("document.no_tokens");
          assertThat(visible).contains("acme\u0000content-controls");
          // OpenSearch's own rejections: a dead letter per document, the job goes on.
          assertThat(codesOf(byKey, fed, "opensearch-4xx")).containsOnly(ChunkIndexWriter.REJECTED);
          assertThat(byKey.get("opensearch-4xx-0").getReason())
              .contains("status 400", ChunkIndex.SOURCE);
          // The file: the huge line is a dead letter naming file and line; its neighbours index.
          assertThat(visible).contains("files\u0000file-1", "files\u0000file-3");
          assertThat(dead)
              .filteredOn(d -> d.getReasonCode().equals("file.line_too_large"))
              .singleElement()
              .satisfies(d -> assertThat(d.getReason()).contains("in.jsonl line 2"));

          long indexed = expected.values().stream().filter(e -> visible.contains(e.pair())).count();
          long deletes =
              expected.values().stream()
                  .filter(e -> e.delete() && !visible.contains(e.pair()))
                  .count();
          System.out.printf(
              "IngestHostileInputIT: %d Kafka records + 3 JSONL lines; %d documents indexed, %d"
                  + " dead letters %s, %d deletes; %.1f s%n",
              fed.size(),
              indexed,
              dead.size(),
              countByCode(dead),
              deletes,
              (System.nanoTime() - started) / 1e9);
        } finally {
          job.cancel().get();
        }
      }
    }
  }

  /** Waits (bounded) until the job runs: it is submitted asynchronously. */
  private static void awaitRunning(JobClient job) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (job.getJobStatus().get() != JobStatus.RUNNING && System.nanoTime() < deadline) {
      assertRunning(job);
      Thread.sleep(100);
    }
  }

  /**
   * Fails with the job's own failure once it is failing or over: with no restart strategy, one task
   * failure fails the job.
   */
  private static void assertRunning(JobClient job) throws Exception {
    JobStatus status = job.getJobStatus().get();
    if (status == JobStatus.RUNNING
        || status == JobStatus.CREATED
        || status == JobStatus.INITIALIZING) {
      return;
    }
    String cause = "";
    if (status.isGloballyTerminalState()) {
      try {
        job.getJobExecutionResult().get(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        java.io.StringWriter trace = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(trace));
        cause = trace.toString();
      }
    }
    throw new AssertionError("the job must not fail on any record; it is " + status + "\n" + cause);
  }

  /** A line, a line of 20 MiB (over the 1 MiB limit), a line. */
  private static void writeJsonlWithAHugeLine(Path file) throws Exception {
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(valid("files", "file-1", "the first line of the file").getBytes(UTF_8));
      out.write('\n');
      byte[] block = "garbage ".repeat(8192).getBytes(UTF_8);
      for (int i = 0; i < (20 << 20) / block.length; i++) {
        out.write(block);
      }
      out.write('\n');
      out.write(valid("files", "file-3", "the third line of the file").getBytes(UTF_8));
      out.write('\n');
    }
  }

  private static boolean fileDone(List<DeadLetter> dead) {
    return dead.stream().anyMatch(d -> d.getReasonCode().equals("file.line_too_large"));
  }

  /** A valid document as JSON; its marker (metadata.rec) is its doc id. */
  static String valid(String tenant, String docId, String text) {
    return valid(docId, tenant, docId, text);
  }

  /** A valid document as JSON with the marker {@code rec}: the key of the record it is. */
  static String valid(String rec, String tenant, String docId, String text) {
    ObjectNode doc = JSON.createObjectNode();
    doc.putObject("metadata").put("rec", rec);
    doc.put("docId", docId).put("tenantId", tenant).put("title", "Title of " + docId);
    doc.put("text", text);
    return doc.toString();
  }

  /** What the test knows of a record: its (tenant, docId) pair if it decodes, and if a delete. */
  record Expected(String kind, String pair, boolean delete) {}

  private static Map<String, Expected> expectations(List<Fed> fed) {
    RecordCodec<Document> codec =
        RecordCodec.builder(Document.class).maxMessageBytes(MAX_RECORD_BYTES).build();
    Map<String, Expected> expected = new LinkedHashMap<>();
    for (Fed record : fed) {
      Decoded<Document> decoded = codec.decode(record.value());
      if (!decoded.isOk()) {
        expected.put(record.key(), new Expected(record.kind(), null, false));
        continue;
      }
      Document doc = decoded.value();
      boolean validIds =
          Identifiers.validTenantId(String.valueOf(doc.getTenantId()))
              && Identifiers.validDocId(String.valueOf(doc.getDocId()));
      boolean delete =
          validIds
              && (doc.getDeleted()
                  || DocumentChunking.clean(String.valueOf(doc.getText()), true).isBlank());
      expected.put(
          record.key(),
          new Expected(record.kind(), doc.getTenantId() + "\u0000" + doc.getDocId(), delete));
    }
    // The two good lines of the file; the huge one is checked by its dead letter.
    expected.put("file-1", new Expected("file", "files\u0000file-1", false));
    expected.put("file-3", new Expected("file", "files\u0000file-3", false));
    return expected;
  }

  /** Outcomes per record key: dead letters attributed to it, plus 1 if visible or a delete. */
  private static Map<String, Integer> outcomes(
      Map<String, Expected> expected, List<DeadLetter> dead, Set<String> visible) {
    Map<String, Integer> outcomes = new LinkedHashMap<>();
    expected.keySet().forEach(k -> outcomes.put(k, 0));
    for (DeadLetter letter : dead) {
      String key = keyOf(letter);
      if (key != null && outcomes.containsKey(key)) {
        outcomes.merge(key, 1, Integer::sum);
      } else if (!letter.getReasonCode().equals("file.line_too_large")) {
        throw new AssertionError(
            "a dead letter no record accounts for: "
                + letter.getReasonCode()
                + " "
                + letter.getReason());
      }
    }
    expected.forEach(
        (key, e) -> {
          if (e.pair != null && visible.contains(e.pair)) {
            outcomes.merge(key, 1, Integer::sum);
          } else if (e.delete && outcomes.get(key) == 0) {
            outcomes.put(key, 1); // deleted: nothing to see, and nothing dead-lettered
          }
        });
    return outcomes;
  }

  /** The record a dead letter is about: its Kafka key, else the marker in the kept document. */
  private static String keyOf(DeadLetter letter) {
    if (letter.getKey() != null) {
      return UTF_8.decode(letter.getKey().duplicate()).toString();
    }
    try {
      ByteBuffer payload = letter.getPayload().duplicate();
      JsonNode doc = JSON.readTree(UTF_8.decode(payload).toString());
      JsonNode rec = doc.at("/metadata/rec");
      return rec.isTextual() ? rec.textValue() : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static Map<String, DeadLetter> attribute(
      List<DeadLetter> dead, Map<String, Expected> expected) {
    Map<String, DeadLetter> byKey = new HashMap<>();
    for (DeadLetter letter : dead) {
      String key = keyOf(letter);
      if (key != null && expected.containsKey(key)) {
        byKey.put(key, letter);
      }
    }
    return byKey;
  }

  private static List<String> codesOf(Map<String, DeadLetter> byKey, List<Fed> fed, String kind) {
    List<String> codes = new ArrayList<>();
    for (Fed record : fed) {
      if (record.kind().equals(kind)) {
        DeadLetter letter = byKey.get(record.key());
        codes.add(letter == null ? "none for " + record.key() : letter.getReasonCode());
      }
    }
    assertThat(codes).as(kind).isNotEmpty();
    return codes;
  }

  private static Map<String, Long> countByCode(List<DeadLetter> dead) {
    Map<String, Long> counts = new java.util.TreeMap<>();
    dead.forEach(d -> counts.merge(d.getReasonCode(), 1L, Long::sum));
    return counts;
  }

  /** Every (tenant, docId) with at least one chunk in the index. */
  private static Set<String> visible(RestClient opensearch, String index) throws Exception {
    Set<String> pairs = new HashSet<>();
    JsonNode after = null;
    do {
      ObjectNode body = JSON.createObjectNode().put("size", 0);
      ObjectNode composite = body.putObject("aggs").putObject("pairs").putObject("composite");
      composite.put("size", 1000);
      composite
          .putArray("sources")
          .add(termsSource("t", ChunkIndex.TENANT))
          .add(termsSource("d", ChunkIndex.DOC_ID));
      if (after != null) {
        composite.set("after", after);
      }
      Request search = new Request("POST", "/" + index + "/_search");
      search.setJsonEntity(body.toString());
      JsonNode result =
          JSON.readTree(opensearch.performRequest(search).getEntity().getContent())
              .at("/aggregations/pairs");
      for (JsonNode bucket : result.get("buckets")) {
        pairs.add(bucket.at("/key/t").asText() + "\u0000" + bucket.at("/key/d").asText());
      }
      after = result.get("buckets").size() == 0 ? null : result.get("after_key");
    } while (after != null);
    return pairs;
  }

  private static ObjectNode termsSource(String name, String field) {
    ObjectNode source = JSON.createObjectNode();
    source.putObject(name).putObject("terms").put("field", field);
    return source;
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String topic) {
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                KAFKA.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "dlq-reader-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  private static void poll(
      KafkaConsumer<byte[], byte[]> consumer, List<DeadLetter> into, Duration duration) {
    RecordCodec<DeadLetter> codec = RecordCodec.of(DeadLetter.class);
    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(duration)) {
      Decoded<DeadLetter> decoded = codec.decode(record.value());
      assertThat(decoded.isOk()).as("every dead letter decodes").isTrue();
      into.add(decoded.value());
    }
  }

  /** The records, by class; each key names its class. */
  static final class HostileDocuments {
    private HostileDocuments() {}

    static List<Fed> all(Random random) throws Exception {
      List<Fed> fed = new ArrayList<>();
      // Valid documents, two tenants, one to three chunks each.
      for (int i = 0; i < 60; i++) {
        String key = "valid-" + i;
        String text =
            ("Record " + i + " explains how the widget's blue dial works. ").repeat(1 + i % 25);
        fed.add(json(key, "valid", valid(i % 2 == 0 ? "acme" : "globex", key, text)));
      }
      // Tenant ids against the rules (separators, controls, length, empty).
      String[] tenants = {"a:b", "a/b", "a b", "", "x".repeat(65), "ac\u0000me", "%3A", "*", "é"};
      for (int i = 0; i < tenants.length; i++) {
        fed.add(json("tenant-id-" + i, "tenant-id", valid(tenants[i], "tenant-id-" + i, "text")));
      }
      // Document ids against the rules.
      String[] docIds = {
        "", " ", "x".repeat(257), "文".repeat(134), "bad\u0000id", "bad\nid", "x\uFFFD"
      };
      for (int i = 0; i < docIds.length; i++) {
        ObjectNode doc = (ObjectNode) JSON.readTree(valid("acme", "doc-id-" + i, "text"));
        fed.add(json("doc-id-" + i, "doc-id", doc.put("docId", docIds[i]).toString()));
      }
      // An unpaired surrogate, as a JSON escape, which UTF-8 cannot hold: the codec refuses it
      // (decode.invalid_field) rather than let Avro write it as '?'; either way it ends once.
      ObjectNode surrogate = (ObjectNode) JSON.readTree(valid("acme", "surrogate", "text"));
      fed.add(
          json(
              "surrogate",
              "surrogate",
              surrogate.put("docId", "SURROGATE").toString().replace("SURROGATE", "\\ud800")));
      // The collision: tenant "a" doc "b:c" and doc "b" are valid; tenant "a:b" doc "c" is not.
      fed.add(
          json("collide-a-b", "collide", valid("collide-a-b", "a", "b", "Tenant a owns doc b.")));
      fed.add(
          json(
              "collide-a-bc",
              "collide",
              valid("collide-a-bc", "a", "b:c", "Tenant a owns document b:c.")));
      fed.add(
          json(
              "collide-upsert",
              "collide",
              valid("collide-upsert", "a:b", "c", "Tenant a:b claims document c.")));
      ObjectNode delete =
          (ObjectNode) JSON.readTree(valid("collide-delete", "a:b", "c", "Tenant a:b, doc c."));
      fed.add(json("collide-delete", "collide", delete.put("deleted", true).toString()));
      // Garbage and records that do not decode.
      fed.add(json("garbage-not-json", "garbage", "this is not json"));
      fed.add(json("garbage-truncated", "garbage", "{\"docId\": \"x\", \"tenantId\": \"ac"));
      fed.add(new Fed("garbage-empty", new byte[0], "garbage"));
      fed.add(new Fed("garbage-tombstone", null, "garbage"));
      fed.add(
          new Fed(
              "garbage-binary",
              new byte[] {(byte) 0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
              "garbage"));
      fed.add(
          new Fed(
              "garbage-utf8",
              concat(
                  "{\"docId\":\"u\",\"tenantId\":\"acme\",\"text\":\"".getBytes(UTF_8),
                  new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xc3},
                  "\"}".getBytes(UTF_8)),
              "garbage"));
      fed.add(json("garbage-docid-type", "garbage", "{\"docId\":7,\"tenantId\":\"acme\"}"));
      fed.add(
          json(
              "garbage-text-type",
              "garbage",
              "{\"docId\":\"t\",\"tenantId\":\"acme\",\"text\":[1]}"));
      fed.add(json("garbage-no-docid", "garbage", "{\"tenantId\":\"acme\",\"text\":\"x\"}"));
      fed.add(json("garbage-no-tenant", "garbage", "{\"docId\":\"x\",\"text\":\"x\"}"));
      fed.add(
          json(
              "garbage-operation",
              "garbage",
              "{\"docId\":\"op\",\"tenantId\":\"acme\",\"deleted\":\"purge\"}"));
      fed.add(
          json(
              "garbage-updated-at",
              "garbage",
              "{\"docId\":\"ts\",\"tenantId\":\"acme\",\"updatedAt\":\"99999-99-99\"}"));
      fed.add(
          json(
              "garbage-metadata",
              "garbage",
              "{\"docId\":\"m\",\"tenantId\":\"acme\",\"metadata\":{\"k\":{\"deep\":1}}}"));
      fed.add(
          json(
              "garbage-nesting",
              "garbage",
              "{\"a\":" + "[".repeat(5_000) + "]".repeat(5_000) + "}"));
      fed.add(
          json(
              "garbage-duplicate",
              "garbage",
              "{\"docId\":\"x\",\"docId\":\"y\",\"tenantId\":\"acme\",\"text\":\"x\"}"));
      fed.add(
          json(
              "garbage-oversized",
              "garbage",
              valid("acme", "garbage-oversized", "word ".repeat(300_000)))); // 1.5 MB > 1 MiB
      // Content rules.
      fed.add(
          json(
              "content-too-large",
              "content",
              valid("acme", "content-too-large", "word ".repeat(5_000)))); // 25k > 20k chars
      ObjectNode title = (ObjectNode) JSON.readTree(valid("acme", "content-title", "text"));
      fed.add(json("content-title", "content", title.put("title", "t".repeat(2_000)).toString()));
      ObjectNode source = (ObjectNode) JSON.readTree(valid("acme", "content-source", "text"));
      fed.add(
          json("content-source", "content", source.put("source", "s".repeat(3_000)).toString()));
      fed.add(
          json(
              "content-no-tokens",
              "content",
              valid("acme", "content-no-tokens", "\u200B\u200B\u200B")));
      fed.add(
          json(
              "content-controls",
              "content",
              valid("acme", "content-controls", "bell\u0007 escape\u001b[2J nul\u0000 text")));
      fed.add(
          json(
              "content-only-controls",
              "content",
              valid("acme", "content-only-controls", "\u0000\u0001\u0002")));
      fed.add(json("content-empty", "content", valid("acme", "content-empty", "")));
      // Documents OpenSearch refuses: a textual source where the index maps a number.
      for (int i = 0; i < 5; i++) {
        ObjectNode doc =
            (ObjectNode) JSON.readTree(valid("acme", "opensearch-4xx-" + i, "text " + i));
        fed.add(
            json(
                "opensearch-4xx-" + i,
                "opensearch-4xx",
                doc.put("source", "https://example.com/" + i).toString()));
      }
      // Random mutations of valid documents.
      for (int i = 0; i < 160; i++) {
        String key = "mutation-" + i;
        fed.add(new Fed(key, Mutations.mutate(random, key), "mutation"));
      }
      // Last: when it is searchable, everything before it has been through the pipeline.
      fed.add(json("sentinel", "sentinel", valid("acme", "sentinel", "The last record.")));
      return fed;
    }

    private static Fed json(String key, String kind, String json) {
      return new Fed(key, json.getBytes(UTF_8), kind);
    }

    static byte[] concat(byte[]... parts) throws Exception {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (byte[] part : parts) {
        out.write(part);
      }
      return out.toByteArray();
    }
  }

  /**
   * Random mutations of a valid document. The marker ({@code metadata.rec}) comes first in the JSON
   * and byte-level mutations leave it alone, so a dead letter from any stage names its record.
   */
  static final class Mutations {
    private Mutations() {}

    private static final String[] HOSTILE = {
      ":", "/", "%", " ", "\u0000", "\n", "\u001b", "é", "文", "\uD800", "\uFFFD", "😀", "\"", "\\"
    };

    static byte[] mutate(Random random, String key) throws Exception {
      ObjectNode doc = JSON.createObjectNode();
      doc.putObject("metadata").put("rec", key);
      doc.put("docId", key).put("tenantId", random.nextBoolean() ? "acme" : "globex");
      doc.put("title", "Title of " + key);
      doc.put("text", "Mutated record " + key + " about the widget and its dial. ".repeat(3));
      doc.putNull("source");
      doc.put("deleted", false);
      String[] fields = {"docId", "tenantId", "title", "text", "source", "updatedAt", "deleted"};
      String field = fields[random.nextInt(fields.length)];
      switch (random.nextInt(10)) {
        case 0 -> doc.put(field, random.nextInt());
        case 1 -> doc.putArray(field).add(1).add("x");
        case 2 -> doc.putObject(field).put("nested", true);
        case 3 -> doc.putNull(field);
        case 4 -> doc.remove(field);
        case 5 -> doc.put(field, hostileString(random));
        case 6 -> doc.put("updatedAt", extremeTime(random));
        case 7 -> doc.put("deleted", random.nextBoolean());
        default -> {
          return byteLevel(random, doc.toString().getBytes(UTF_8));
        }
      }
      return doc.toString().getBytes(UTF_8);
    }

    private static String hostileString(Random random) {
      StringBuilder value = new StringBuilder();
      int parts = 1 + random.nextInt(6);
      for (int i = 0; i < parts; i++) {
        value.append(random.nextInt(3) == 0 ? HOSTILE[random.nextInt(HOSTILE.length)] : "w" + i);
      }
      if (random.nextInt(8) == 0) {
        return value.toString().repeat(100); // too long for any identifier
      }
      return value.toString();
    }

    private static long extremeTime(Random random) {
      long[] times = {Long.MAX_VALUE, Long.MIN_VALUE, -1, 253402300800000L, -62135596800001L};
      return times[random.nextInt(times.length)];
    }

    /** Flips, inserts or truncates bytes after the marker. */
    private static byte[] byteLevel(Random random, byte[] json) {
      int from = indexAfterMarker(json);
      int at = from + random.nextInt(json.length - from);
      return switch (random.nextInt(3)) {
        case 0 -> {
          byte[] flipped = json.clone();
          flipped[at] = (byte) random.nextInt(256);
          yield flipped;
        }
        case 1 -> java.util.Arrays.copyOf(json, at);
        default -> {
          byte[] inserted = new byte[json.length + 1];
          System.arraycopy(json, 0, inserted, 0, at);
          inserted[at] = (byte) random.nextInt(32);
          System.arraycopy(json, at, inserted, at + 1, json.length - at);
          yield inserted;
        }
      };
    }

    private static int indexAfterMarker(byte[] json) {
      String text = new String(json, UTF_8);
      return text.indexOf('}') + 1; // the end of the metadata object, which comes first
    }
  }
}
