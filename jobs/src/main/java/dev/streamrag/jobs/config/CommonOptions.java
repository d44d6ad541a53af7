package dev.streamrag.jobs.config;

import java.time.Duration;
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

  /** Keys under this prefix are Kafka client properties, passed to every client unchanged. */
  public static final String KAFKA_CLIENT_PREFIX = "kafka.client.";

  public static final ConfigOption<String> KAFKA_PROPERTIES_FILE =
      ConfigOptions.key("kafka.properties-file")
          .stringType()
          .defaultValue("")
          .withDescription(
              "A Java properties file of Kafka client properties for every source, sink, producer,"
                  + " consumer and admin client (security.protocol, sasl.mechanism,"
                  + " sasl.jaas.config, ssl.*; SCRAM, OAUTHBEARER, mTLS). Settings kafka.client.<"
                  + "property> (file or flags) add to it and win. Secrets in it must be references"
                  + " (${env:NAME}, ${file:PATH:KEY}, ${dir:DIR:FILE}) that the Kafka client"
                  + " resolves where it runs; a secret written out is refused at start. Read where"
                  + " the job is built. Empty: plaintext, unauthenticated.");

  public static final ConfigOption<String> OPENSEARCH_URL =
      ConfigOptions.key("opensearch.url")
          .stringType()
          .defaultValue("http://127.0.0.1:9200")
          .withDescription("OpenSearch endpoint.");

  public static final ConfigOption<String> OPENSEARCH_USERNAME =
      ConfigOptions.key("opensearch.username")
          .stringType()
          .defaultValue("")
          .withDescription(
              "OpenSearch security plugin user (basic auth), set together with"
                  + " opensearch.password; opensearch.url (http:// or https://) must not carry a"
                  + " user or password. Empty: no login.");

  public static final ConfigOption<String> OPENSEARCH_PASSWORD =
      ConfigOptions.key("opensearch.password")
          .stringType()
          .defaultValue("")
          .withDescription(
              "Where opensearch.username's password is: a secret reference (${env:NAME},"
                  + " ${file:PATH:KEY}, ${dir:DIR:FILE}) read where the client opens (TaskManager;"
                  + " the ingest job's JobManager too, which creates the index); a password written"
                  + " out is refused at start. Refused over http:// except to a loopback address.");

  public static final ConfigOption<String> OPENSEARCH_CA_FILE =
      ConfigOptions.key("opensearch.ca-file")
          .stringType()
          .defaultValue("")
          .withDescription(
              "PEM file of the CA certificate(s) to trust for an https:// opensearch.url (instead"
                  + " of the JVM's default trust), read where the client opens. Empty: the JVM's"
                  + " default trust.");

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

  // A schema registry (Confluent's REST API), for estates whose producers frame records with one.

  public static final ConfigOption<String> SCHEMA_REGISTRY_URL =
      ConfigOptions.key("schema-registry.url")
          .stringType()
          .defaultValue("")
          .withDescription(
              "Confluent-compatible schema registry API (Confluent, Karapace, Redpanda; Apicurio"
                  + " at .../apis/ccompat/v7). Set, the jobs also read Avro framed by the registry"
                  + " (magic byte 0, 4-byte schema id), looking writer schemas up by id (cached),"
                  + " and a sink whose format is REGISTRY writes that framing. Empty: off.");

  public static final ConfigOption<Duration> SCHEMA_REGISTRY_TIMEOUT =
      ConfigOptions.key("schema-registry.timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription(
              "How long a registry call keeps retrying (unreachable, 5xx, 429, 401/403) before"
                  + " the task fails and restarts; records are not dead-lettered for a registry"
                  + " outage. An id the registry does not know is a dead letter at once.");

  public static final ConfigOption<Boolean> SCHEMA_REGISTRY_AUTO_REGISTER =
      ConfigOptions.key("schema-registry.auto-register")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "A REGISTRY-format sink registers its schema under <topic>-value (the topic name"
                  + " strategy) at start. Off: the schema must be registered already, and a job"
                  + " whose schema is not refuses to start, naming the subject.");
}
