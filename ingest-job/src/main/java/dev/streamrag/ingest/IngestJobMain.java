package dev.streamrag.ingest;

import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;

/**
 * Runs the ingest job: documents from Kafka and/or a directory of files → OpenSearch chunks.
 * Settings: {@code --key value} flags, {@code STREAMRAG_*} environment variables, or {@code
 * --config file.properties}; {@code --help} lists them.
 */
public final class IngestJobMain {
  private IngestJobMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(
          "streamrag ingest job settings:\n\n" + JobConfig.describe(IngestOptions.ALL));
      return;
    }
    Configuration config = JobConfig.load(args, System.getenv(), IngestOptions.ALL);
    createIndex(config);

    boolean kafka = config.get(IngestOptions.KAFKA_ENABLED);
    if (!kafka && !config.contains(IngestOptions.FILES)) {
      throw new IllegalArgumentException(
          "nothing to read: ingest.kafka-enabled is false and ingest.files is not set");
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(config.get(IngestOptions.CHECKPOINT_INTERVAL).toMillis());
    buildOnConfiguredIo(env, config);
    env.execute(IngestJob.NAME);
  }

  /**
   * Creates the configured chunk index for the configured model, unless it exists, logging in as
   * configured (here, where the job starts, the password is read too).
   */
  public static void createIndex(Configuration config) {
    KnnIndex.createIfMissing(
        OpenSearchEndpoint.from(config),
        config.get(IngestOptions.INDEX),
        EmbeddingModelSpec.bundled(config.get(IngestOptions.MODEL)).dimension(),
        config.get(IngestOptions.INDEX_SHARDS),
        config.get(IngestOptions.INDEX_REPLICAS));
  }

  /**
   * The job as deployed: the configured sources (topic and/or files), the OpenSearch index, and
   * dead letters to Kafka. Checkpointing is the caller's to configure.
   */
  public static void buildOnConfiguredIo(StreamExecutionEnvironment env, Configuration config) {
    new IngestJob(config)
        .build(sources(env, config), IngestJob.index(config), IngestJob.deadLetterSink(config));
  }

  /** The documents topic, the files, or both (unioned). */
  public static DataStream<Either<DeadLetter, Document>> sources(
      StreamExecutionEnvironment env, Configuration config) {
    DataStream<Either<DeadLetter, Document>> documents = null;
    if (config.get(IngestOptions.KAFKA_ENABLED)) {
      documents =
          env.fromSource(IngestJob.kafkaSource(config), IngestJob.watermarks(), "documents")
              .uid("documents");
    }
    if (config.contains(IngestOptions.FILES)) {
      DataStream<Either<DeadLetter, Document>> files =
          env.fromSource(IngestJob.fileSource(config), IngestJob.watermarks(), "files")
              .uid("files");
      documents = documents == null ? files : documents.union(files);
    }
    return documents;
  }
}
