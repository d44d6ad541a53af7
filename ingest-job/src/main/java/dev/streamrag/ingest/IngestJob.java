package dev.streamrag.ingest;

import dev.streamrag.ingest.embed.FailureIsolatingEmbedding;
import dev.streamrag.ingest.files.DocumentFileFormat;
import dev.streamrag.ingest.index.BulkTransport;
import dev.streamrag.ingest.index.ChunkIndexWriter;
import dev.streamrag.ingest.index.IndexWriteSettings;
import dev.streamrag.ingest.index.OpenSearchBulkTransport;
import dev.streamrag.jobs.batch.BatchSettings;
import dev.streamrag.jobs.batch.MicroBatching;
import dev.streamrag.jobs.config.KafkaClients;
import dev.streamrag.jobs.embed.EmbedBatchFunction;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.kafka.AvroRecordSerializer;
import dev.streamrag.jobs.kafka.DecodingDeserializer;
import dev.streamrag.jobs.kafka.SchemaRegistrySettings;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.ids.Identifiers;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The ingest pipeline: decoded documents → chunk actions (keyed by tenant and document) →
 * micro-batched embeddings → OpenSearch bulk writes; every record that is not indexed (undecodable,
 * against the rules, not embeddable, refused by OpenSearch) → dead-letter sink, with its reason.
 * Sources and sinks are passed in, so tests run the same pipeline on bounded inputs.
 */
public final class IngestJob {
  public static final String NAME = "streamrag-ingest";

  private final Configuration config;

  /** Checks what must hold before anything runs (a bad setting fails at start, not per record). */
  public IngestJob(Configuration config) {
    String filesTenant = config.get(IngestOptions.FILES_TENANT);
    if (!Identifiers.validTenantId(filesTenant)) {
      throw new IllegalArgumentException(
          "ingest.files-tenant '"
              + Identifiers.clip(filesTenant, 80)
              + "' must be "
              + Identifiers.TENANT_RULE);
    }
    this.config = config;
  }

  /**
   * Adds the pipeline to {@code documents}' environment: chunks are written through {@code index},
   * and every record that is not indexed ends on {@code deadLetters}, with its reason.
   */
  public void build(
      DataStream<Either<DeadLetter, Document>> documents,
      BulkTransport.Factory index,
      Sink<DeadLetter> deadLetters) {
    EmbeddingModelSpec model = EmbeddingModelSpec.bundled(config.get(IngestOptions.MODEL));
    SingleOutputStreamOperator<Document> decoded =
        documents.process(new SplitDeadLetters<>()).name("split-dead-letters").uid("split");
    SingleOutputStreamOperator<ChunkAction> actions =
        decoded
            .keyBy(DocumentChunking::key)
            .process(
                new DocumentChunking(
                    model,
                    config.get(IngestOptions.CHUNK_TOKENS),
                    config.get(IngestOptions.CHUNK_OVERLAP),
                    config.get(IngestOptions.MAX_DOCUMENT_CHARS),
                    NAME),
                TypeInformation.of(ChunkAction.class))
            .name("chunk")
            .uid("chunk");
    DataStream<ChunkAction> embedded =
        MicroBatching.apply(
            actions,
            "embed",
            new FailureIsolatingEmbedding(
                new EmbedBatchFunction<ChunkAction, ChunkAction>(
                    model,
                    config.get(IngestOptions.DEVICE),
                    EmbeddingPurpose.PASSAGE,
                    ChunkAction::embeddingText,
                    IngestJob::withVector)),
            new BatchSettings(
                config.get(IngestOptions.BATCH_SIZE), config.get(IngestOptions.BATCH_WAIT)),
            TypeInformation.of(ChunkAction.class));
    // Forward, never rebalanced: the index writer must see each document's actions together.
    SingleOutputStreamOperator<DeadLetter> notIndexed =
        embedded
            .transform(
                "index",
                new AvroTypeInfo<>(DeadLetter.class),
                new ChunkIndexWriter(
                    index,
                    new IndexWriteSettings(
                        config.get(IngestOptions.BULK_ACTIONS),
                        config.get(IngestOptions.BULK_INTERVAL),
                        config.get(IngestOptions.INDEX_FLUSH_TIMEOUT),
                        config.get(IngestOptions.INDEX_RETRY_BACKOFF)),
                    NAME))
            .uid("index-writer");
    decoded
        .getSideOutput(SplitDeadLetters.DEAD_LETTERS)
        .union(actions.getSideOutput(SplitDeadLetters.DEAD_LETTERS), notIndexed)
        .sinkTo(deadLetters)
        .name("dead-letters")
        .uid("dead-letters");
  }

  private static ChunkAction withVector(ChunkAction action, float[] vector) {
    action.vector = vector;
    return action;
  }

  /** Documents from the configured topic, from the committed offsets (earliest the first time). */
  public static KafkaSource<Either<DeadLetter, Document>> kafkaSource(Configuration config) {
    return KafkaSource.<Either<DeadLetter, Document>>builder()
        .setProperties(KafkaClients.from(config).toProperties())
        .setTopics(config.get(IngestOptions.DOCUMENTS_TOPIC))
        .setGroupId(config.get(IngestOptions.CONSUMER_GROUP))
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setDeserializer(
            new DecodingDeserializer<>(
                Document.class,
                config.get(IngestOptions.MAX_RECORD_BYTES),
                NAME,
                SchemaRegistrySettings.from(config).orElse(null)))
        .build();
  }

  /** The documents below {@code ingest.files}, read once (a bounded source). */
  public static FileSource<Either<DeadLetter, Document>> fileSource(Configuration config) {
    String directory = config.get(IngestOptions.FILES);
    return FileSource.forBulkFileFormat(
            new DocumentFileFormat(
                directory,
                config.get(IngestOptions.FILES_TENANT),
                config.get(IngestOptions.MAX_DOCUMENT_CHARS),
                config.get(IngestOptions.MAX_RECORD_BYTES),
                NAME),
            new Path(directory))
        .build();
  }

  /** Reads {@code source} with no watermarks: the pipeline is not event-time driven. */
  public static WatermarkStrategy<Either<DeadLetter, Document>> watermarks() {
    return WatermarkStrategy.noWatermarks();
  }

  /**
   * Chunk writes to the configured OpenSearch index, with the configured login and trust (the
   * password is read on the TaskManager). At least once: chunk ids are deterministic, so a replayed
   * write overwrites itself and the index ends up as with exactly once.
   */
  public static BulkTransport.Factory index(Configuration config) {
    return OpenSearchBulkTransport.factory(
        OpenSearchEndpoint.from(config), config.get(IngestOptions.INDEX));
  }

  /** Dead letters to their topic, at least once. */
  public static Sink<DeadLetter> deadLetterSink(Configuration config) {
    return KafkaSink.<DeadLetter>builder()
        .setKafkaProducerConfig(KafkaClients.from(config).toProperties())
        .setRecordSerializer(
            new AvroRecordSerializer<>(
                DeadLetter.class, config.get(IngestOptions.DEAD_LETTER_TOPIC), null))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }
}
