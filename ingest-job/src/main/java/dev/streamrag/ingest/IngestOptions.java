package dev.streamrag.ingest;

import dev.streamrag.jobs.config.CommonOptions;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** Every setting of the ingest job, with its default and meaning (see {@code JobConfig}). */
public final class IngestOptions {
  private IngestOptions() {}

  public static final ConfigOption<String> KAFKA_BOOTSTRAP = CommonOptions.KAFKA_BOOTSTRAP;

  public static final ConfigOption<String> KAFKA_PROPERTIES_FILE =
      CommonOptions.KAFKA_PROPERTIES_FILE;

  public static final ConfigOption<String> DOCUMENTS_TOPIC =
      ConfigOptions.key("ingest.documents-topic")
          .stringType()
          .defaultValue("rag.documents")
          .withDescription("Topic of Document records (Avro or JSON) to index.");

  public static final ConfigOption<String> DEAD_LETTER_TOPIC =
      ConfigOptions.key("ingest.dead-letter-topic")
          .stringType()
          .defaultValue("rag.dead-letters")
          .withDescription("Topic for documents that cannot be indexed, with the reason.");

  public static final ConfigOption<String> CONSUMER_GROUP =
      ConfigOptions.key("ingest.consumer-group")
          .stringType()
          .defaultValue("streamrag-ingest")
          .withDescription("Kafka consumer group (offsets are committed on checkpoints).");

  public static final ConfigOption<Boolean> KAFKA_ENABLED =
      ConfigOptions.key("ingest.kafka-enabled")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "Read the documents topic. Turn off for a bulk load from ingest.files that ends"
                  + " when the files are done.");

  public static final ConfigOption<String> FILES =
      ConfigOptions.key("ingest.files")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Directory (local path or any Flink file system URI) of .jsonl/.ndjson documents"
                  + " and .md/.markdown/.txt files to load once.");

  public static final ConfigOption<String> FILES_TENANT =
      ConfigOptions.key("ingest.files-tenant")
          .stringType()
          .defaultValue("default")
          .withDescription("Tenant of documents read from Markdown and text files.");

  public static final ConfigOption<String> OPENSEARCH_URL = CommonOptions.OPENSEARCH_URL;

  public static final ConfigOption<String> OPENSEARCH_USERNAME = CommonOptions.OPENSEARCH_USERNAME;

  public static final ConfigOption<String> OPENSEARCH_PASSWORD = CommonOptions.OPENSEARCH_PASSWORD;

  public static final ConfigOption<String> OPENSEARCH_CA_FILE = CommonOptions.OPENSEARCH_CA_FILE;

  public static final ConfigOption<String> INDEX =
      ConfigOptions.key("ingest.index")
          .stringType()
          .defaultValue("rag-chunks")
          .withDescription("Index of chunks; created at start if missing.");

  public static final ConfigOption<Integer> INDEX_SHARDS =
      ConfigOptions.key("ingest.index-shards")
          .intType()
          .defaultValue(1)
          .withDescription("Shards of a newly created index.");

  public static final ConfigOption<Integer> INDEX_REPLICAS =
      ConfigOptions.key("ingest.index-replicas")
          .intType()
          .defaultValue(0)
          .withDescription("Replicas of a newly created index.");

  public static final ConfigOption<String> MODEL = CommonOptions.EMBEDDING_MODEL;

  public static final ConfigOption<String> DEVICE = CommonOptions.EMBEDDING_DEVICE;

  public static final ConfigOption<Integer> BATCH_SIZE =
      ConfigOptions.key("embedding.batch-size")
          .intType()
          .defaultValue(32)
          .withDescription("Most chunks per model call.");

  public static final ConfigOption<Duration> BATCH_WAIT =
      ConfigOptions.key("embedding.batch-wait")
          .durationType()
          .defaultValue(Duration.ofMillis(50))
          .withDescription("Longest a chunk waits for its batch to fill.");

  public static final ConfigOption<Integer> CHUNK_TOKENS =
      ConfigOptions.key("ingest.chunk-tokens")
          .intType()
          .defaultValue(200)
          .withDescription("Most model tokens per chunk (the model reads at most 256).");

  public static final ConfigOption<Integer> CHUNK_OVERLAP =
      ConfigOptions.key("ingest.chunk-overlap")
          .intType()
          .defaultValue(40)
          .withDescription("Tokens each chunk repeats from the previous one.");

  public static final ConfigOption<Integer> MAX_DOCUMENT_CHARS =
      ConfigOptions.key("ingest.max-document-chars")
          .intType()
          .defaultValue(1_000_000)
          .withDescription("Longer documents go to the dead-letter topic.");

  public static final ConfigOption<Integer> MAX_RECORD_BYTES =
      ConfigOptions.key("ingest.max-record-bytes")
          .intType()
          .defaultValue(16 * 1024 * 1024)
          .withDescription(
              "Largest encoded Document read: a Kafka record or a JSONL line. Larger ones go to the"
                  + " dead-letter topic unparsed (a JSONL line is skipped without being held in"
                  + " memory).");

  public static final ConfigOption<Integer> BULK_ACTIONS =
      ConfigOptions.key("ingest.bulk-flush-actions")
          .intType()
          .defaultValue(500)
          .withDescription("Chunks per OpenSearch bulk request.");

  public static final ConfigOption<Duration> BULK_INTERVAL =
      ConfigOptions.key("ingest.bulk-flush-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(1))
          .withDescription("Longest a chunk waits before its bulk request is sent.");

  public static final ConfigOption<Duration> INDEX_FLUSH_TIMEOUT =
      ConfigOptions.key("ingest.index-flush-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(60))
          .withDescription(
              "Longest one bulk flush may take, retries of 429s, 5xx and unreachable OpenSearch"
                  + " included; then the task fails and restarts. Flushes run before checkpoints:"
                  + " keep it well under the checkpoint timeout.");

  public static final ConfigOption<Duration> INDEX_RETRY_BACKOFF =
      ConfigOptions.key("ingest.index-retry-backoff")
          .durationType()
          .defaultValue(Duration.ofMillis(200))
          .withDescription(
              "Pause before the first retry; it doubles for each next one (with jitter), up to 10"
                  + " s, until ingest.index-flush-timeout.");

  public static final ConfigOption<Duration> CHECKPOINT_INTERVAL =
      ConfigOptions.key("ingest.checkpoint-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(10))
          .withDescription("Checkpoint interval; bulk requests are flushed on each checkpoint.");

  public static final List<ConfigOption<?>> ALL =
      List.of(
          KAFKA_BOOTSTRAP,
          KAFKA_PROPERTIES_FILE,
          DOCUMENTS_TOPIC,
          DEAD_LETTER_TOPIC,
          CONSUMER_GROUP,
          CommonOptions.SCHEMA_REGISTRY_URL,
          CommonOptions.SCHEMA_REGISTRY_TIMEOUT,
          KAFKA_ENABLED,
          FILES,
          FILES_TENANT,
          OPENSEARCH_URL,
          OPENSEARCH_USERNAME,
          OPENSEARCH_PASSWORD,
          OPENSEARCH_CA_FILE,
          INDEX,
          INDEX_SHARDS,
          INDEX_REPLICAS,
          MODEL,
          DEVICE,
          BATCH_SIZE,
          BATCH_WAIT,
          CHUNK_TOKENS,
          CHUNK_OVERLAP,
          MAX_DOCUMENT_CHARS,
          MAX_RECORD_BYTES,
          BULK_ACTIONS,
          BULK_INTERVAL,
          INDEX_FLUSH_TIMEOUT,
          INDEX_RETRY_BACKOFF,
          CHECKPOINT_INTERVAL);
}
