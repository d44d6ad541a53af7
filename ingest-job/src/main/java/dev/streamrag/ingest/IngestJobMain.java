package dev.streamrag.ingest;

import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import java.net.URI;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs the ingest job: Kafka documents → OpenSearch chunks. Settings: {@code --key value} flags,
 * {@code STREAMRAG_*} environment variables, or {@code --config file.properties}; {@code --help}
 * lists them.
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
    EmbeddingModelSpec model = EmbeddingModelSpec.bundled(config.get(IngestOptions.MODEL));
    KnnIndex.createIfMissing(
        URI.create(config.get(IngestOptions.OPENSEARCH_URL)),
        config.get(IngestOptions.INDEX),
        model.dimension(),
        config.get(IngestOptions.INDEX_SHARDS),
        config.get(IngestOptions.INDEX_REPLICAS));

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(config.get(IngestOptions.CHECKPOINT_INTERVAL).toMillis());
    new IngestJob(config)
        .build(
            env.fromSource(IngestJob.kafkaSource(config), IngestJob.watermarks(), "documents")
                .uid("documents"),
            IngestJob.indexSink(config),
            IngestJob.deadLetterSink(config));
    env.execute(IngestJob.NAME);
  }
}
