package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeyEntry;
import dev.streamrag.gateway.auth.ApiKeysFile;
import dev.streamrag.schemas.RequestKind;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar gateway.jar --bootstrap-servers HOST:PORT --api-keys FILE}: serves until stopped
 * (Ctrl-C, SIGTERM). Every option can also be set by an environment variable {@code
 * STREAMRAG_GATEWAY_*}, for containers. Prints {@code gateway listening on http://HOST:PORT} once
 * it serves, which fixtures read when they ask for port 0.
 */
@Command(
    name = "gateway",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "OpenAI-compatible HTTP/SSE front door over Kafka for the streamrag inference job.")
public final class GatewayMain implements Callable<Integer> {
  /** Log4j's configuration inside this jar, unless the user names another. */
  private static final String LOG_CONFIG = "streamrag/gateway-log4j2.properties";

  @Option(
      names = "--bootstrap-servers",
      defaultValue = "${env:STREAMRAG_GATEWAY_BOOTSTRAP_SERVERS:-127.0.0.1:9092}",
      description =
          "Kafka bootstrap servers (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_BOOTSTRAP_SERVERS).")
  String bootstrapServers;

  @Option(
      names = "--requests-topic",
      defaultValue = "${env:STREAMRAG_GATEWAY_REQUESTS_TOPIC:-rag.requests}",
      description =
          "Topic the requests are produced to (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_REQUESTS_TOPIC).")
  String requestsTopic;

  @Option(
      names = "--pieces-topic",
      defaultValue = "${env:STREAMRAG_GATEWAY_PIECES_TOPIC:-rag.pieces}",
      description =
          "Topic the answers' pieces come back on (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_PIECES_TOPIC).")
  String piecesTopic;

  @Option(
      names = "--reply-partition",
      defaultValue = "${env:STREAMRAG_GATEWAY_REPLY_PARTITION:-0}",
      description =
          "The partition of the pieces topic this instance reads; give each instance its own"
              + " (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_REPLY_PARTITION).")
  int replyPartition;

  @Option(
      names = "--host",
      defaultValue = "${env:STREAMRAG_GATEWAY_HOST:-127.0.0.1}",
      description =
          "Address to listen on (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_HOST); 0.0.0.0 in a container.")
  String host;

  @Option(
      names = "--port",
      defaultValue = "${env:STREAMRAG_GATEWAY_PORT:-8080}",
      description =
          "Port (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_PORT; 0 picks a free one).")
  int port;

  @Option(
      names = "--api-keys",
      defaultValue = "${env:STREAMRAG_GATEWAY_API_KEYS}",
      paramLabel = "FILE",
      description =
          "File of API keys, one '<key> <tenant>' per line, '#' comments (env STREAMRAG_GATEWAY_API_KEYS).")
  Path apiKeysFile;

  @Option(
      names = "--api-key",
      paramLabel = "KEY=TENANT",
      description = "An API key and the tenant it acts as; repeatable.")
  List<String> apiKeys = new ArrayList<>();

  @Option(
      names = "--models",
      split = ",",
      defaultValue = "${env:STREAMRAG_GATEWAY_MODELS}",
      description =
          "Comma-separated models the inference job serves; others get 404. None: any model is"
              + " forwarded and the job decides (env STREAMRAG_GATEWAY_MODELS).")
  List<String> models = new ArrayList<>();

  @Option(
      names = "--default-kind",
      defaultValue = "${env:STREAMRAG_GATEWAY_DEFAULT_KIND:-CHAT}",
      description =
          "Kind of requests that do not say (streamrag.kind): CHAT or RAG (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_DEFAULT_KIND).")
  RequestKind defaultKind;

  @Option(
      names = "--default-timeout",
      defaultValue = "${env:STREAMRAG_GATEWAY_DEFAULT_TIMEOUT:-30s}",
      converter = DurationConverter.class,
      description =
          "Deadline of requests that do not set streamrag.timeout_ms (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_DEFAULT_TIMEOUT).")
  Duration defaultTimeout;

  @Option(
      names = "--max-timeout",
      defaultValue = "${env:STREAMRAG_GATEWAY_MAX_TIMEOUT:-5m}",
      converter = DurationConverter.class,
      description =
          "Largest streamrag.timeout_ms accepted (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_MAX_TIMEOUT).")
  Duration maxTimeout;

  @Option(
      names = "--deadline-grace",
      defaultValue = "${env:STREAMRAG_GATEWAY_DEADLINE_GRACE:-5s}",
      converter = DurationConverter.class,
      description =
          "How long past a deadline to wait for the job's END (its TIMEOUT answer) before answering"
              + " 504 (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_DEADLINE_GRACE).")
  Duration deadlineGrace;

  @Option(
      names = "--max-body-bytes",
      defaultValue = "${env:STREAMRAG_GATEWAY_MAX_BODY_BYTES:-1048576}",
      description =
          "Larger request bodies get 413 (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_MAX_BODY_BYTES).")
  long maxBodyBytes;

  @Option(
      names = "--max-streams",
      defaultValue = "${env:STREAMRAG_GATEWAY_MAX_STREAMS:-1000}",
      description =
          "Open requests beyond this get 429 (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_MAX_STREAMS).")
  int maxStreams;

  @Option(
      names = "--max-client-buffer-bytes",
      defaultValue = "${env:STREAMRAG_GATEWAY_MAX_CLIENT_BUFFER_BYTES:-1048576}",
      description =
          "A streaming client that falls this far behind is disconnected (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_MAX_CLIENT_BUFFER_BYTES).")
  long maxClientBufferBytes;

  @Option(
      names = "--kafka-timeout",
      defaultValue = "${env:STREAMRAG_GATEWAY_KAFKA_TIMEOUT:-2s}",
      converter = DurationConverter.class,
      description =
          "How long a Kafka call may take before Kafka counts as unreachable (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_KAFKA_TIMEOUT).")
  Duration kafkaTimeout;

  @Option(
      names = "--event-loops",
      defaultValue = "${env:STREAMRAG_GATEWAY_EVENT_LOOPS:-0}",
      description =
          "HTTP event loops sharing the port; 0 is one per core (default: ${DEFAULT-VALUE}; env STREAMRAG_GATEWAY_EVENT_LOOPS).")
  int eventLoops;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    if (System.getProperty("log4j2.configurationFile") == null
        && System.getProperty("log4j.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile", LOG_CONFIG);
    }
    System.exit(new CommandLine(new GatewayMain()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    GatewayConfig config;
    try {
      config = config();
    } catch (IllegalArgumentException e) {
      err.println("gateway: " + e.getMessage());
      return 2;
    }
    Gateway gateway;
    try {
      gateway = Gateway.start(config);
    } catch (IllegalArgumentException e) {
      err.println("gateway: " + e.getMessage());
      return 2;
    } catch (IllegalStateException e) {
      err.println("gateway: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  gateway.close();
                  stopped.countDown();
                },
                "gateway-shutdown"));
    spec.commandLine()
        .getOut()
        .printf(
            "gateway listening on %s (requests to %s, replies from %s partition %d)%n",
            gateway.baseUrl(),
            config.kafka().requestsTopic(),
            config.kafka().piecesTopic(),
            config.kafka().replyPartition())
        .flush();
    stopped.await();
    return 0;
  }

  /** The configuration the options describe; IllegalArgumentException names what is wrong. */
  GatewayConfig config() {
    List<ApiKeyEntry> keys = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    if (apiKeysFile != null) {
      ApiKeysFile.Parsed parsed = ApiKeysFile.read(apiKeysFile);
      keys.addAll(parsed.entries());
      errors.addAll(parsed.errors());
    }
    ApiKeysFile.Parsed options = ApiKeysFile.parseOptions(apiKeys);
    keys.addAll(options.entries());
    errors.addAll(options.errors());
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid API keys: " + String.join("; ", errors));
    }
    List<String> served = models.stream().map(String::strip).filter(m -> !m.isEmpty()).toList();
    return GatewayConfig.builder()
        .bootstrapServers(bootstrapServers)
        .requestsTopic(requestsTopic)
        .piecesTopic(piecesTopic)
        .replyPartition(replyPartition)
        .kafkaTimeout(kafkaTimeout)
        .host(host)
        .port(port)
        .addApiKeys(keys)
        .models(served)
        .defaultKind(defaultKind)
        .defaultTimeout(defaultTimeout)
        .maxTimeout(maxTimeout)
        .deadlineGrace(deadlineGrace)
        .maxBodyBytes(maxBodyBytes)
        .maxStreams(maxStreams)
        .maxClientBufferBytes(maxClientBufferBytes)
        .eventLoops(
            eventLoops > 0 ? eventLoops : Math.max(1, Runtime.getRuntime().availableProcessors()))
        .build();
  }
}
