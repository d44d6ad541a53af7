package dev.streamrag.jobs.config;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Settings every job reads with one meaning: the shared services, the embedding model and the
 * request path's topics. Each job's options class lists them beside its own, so one properties file
 * can configure all jobs.
 */
public final class CommonOptions {
  private CommonOptions() {}

  public static final ConfigOption<String> KAFKA_BOOTSTRAP =
      ConfigOptions.key("kafka.bootstrap-servers")
          .stringType()
          .defaultValue("127.0.0.1:9092")
          .withDescription("Kafka brokers.");

  public static final ConfigOption<String> OPENSEARCH_URL =
      ConfigOptions.key("opensearch.url")
          .stringType()
          .defaultValue("http://127.0.0.1:9200")
          .withDescription("OpenSearch endpoint.");

  public static final ConfigOption<String> EMBEDDING_MODEL =
      ConfigOptions.key("embedding.model")
          .stringType()
          .defaultValue("all-minilm-l6-v2")
          .withDescription(
              "Bundled embedding model; the ingest and inference jobs must use the same one.");

  public static final ConfigOption<String> EMBEDDING_DEVICE =
      ConfigOptions.key("embedding.device")
          .stringType()
          .defaultValue("auto")
          .withDescription("cpu, gpu (Flink's assigned GPU), gpu:N, or auto.");

  // The request path's topics: the inference job reads and writes them, the load generator
  // writes requests and the latency sink reads responses and latency records.

  public static final ConfigOption<String> REQUESTS_TOPIC =
      ConfigOptions.key("inference.requests-topic")
          .stringType()
          .defaultValue("rag.requests")
          .withDescription("Topic of InferenceRequest records (Avro or JSON).");

  public static final ConfigOption<String> RESPONSES_TOPIC =
      ConfigOptions.key("inference.responses-topic")
          .stringType()
          .defaultValue("rag.responses")
          .withDescription(
              "Topic of InferenceResponse records, written exactly once: read it with"
                  + " isolation.level=read_committed.");

  public static final ConfigOption<String> PIECES_TOPIC =
      ConfigOptions.key("pieces.topic")
          .stringType()
          .defaultValue("rag.pieces")
          .withDescription(
              "Topic of AnswerPiece records: each answer as it streams (head, text deltas, end),"
                  + " at least once and within milliseconds, for clients and gateways.");

  public static final ConfigOption<String> LATENCY_TOPIC =
      ConfigOptions.key("inference.latency-topic")
          .stringType()
          .defaultValue("rag.latency")
          .withDescription("Topic of LatencyRecord records, one per response, exactly once.");
}
