package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeyEntry;
import dev.streamrag.gateway.auth.ApiKeysFile;
import dev.streamrag.schemas.RequestKind;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar gateway.jar --bootstrap-servers HOST:PORT --api-keys-file FILE}: serves until
 * stopped (Ctrl-C, SIGTERM; then it drains, see {@link Gateway#shutdown}). Every option can also be
 * set by an environment variable, {@code STREAMRAG_GATEWAY_} and the option's name in capitals
 * ({@code --max-streams} is {@code STREAMRAG_GATEWAY_MAX_STREAMS}), for containers. Prints {@code
 * gateway listening on http://HOST:PORT} once it serves, which fixtures read when they ask for port
 * 0.
 *
 * <p>Defaults are {@link GatewayConfig}'s constants, supplied by {@link Defaults}; the options here
 * only name and describe them. {@link #optionsTable()} renders them for the README.
 */
@Command(
    name = "gateway",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    showDefaultValues = true,
    description =
        "OpenAI-compatible HTTP/SSE front door over Kafka for the streamrag inference job.",
    footer = {
      "",
      "Every option can also be set by the environment variable STREAMRAG_GATEWAY_<OPTION>, the"
          + " option's name in capitals with '_' for '-' (--max-streams:"
          + " STREAMRAG_GATEWAY_MAX_STREAMS). API keys can also come from "
          + GatewayMain.API_KEYS_ENV
          + " as key=tenant,key=tenant."
    })
public final class GatewayMain implements Callable<Integer> {
  /** The environment variable holding API keys as {@code key=tenant,key=tenant}. */
  public static final String API_KEYS_ENV = "STREAMRAG_GATEWAY_API_KEYS";

  static final String ENV_PREFIX = "STREAMRAG_GATEWAY_";

  /** Log4j's configuration inside this jar, unless the user names another. */
  private static final String LOG_CONFIG = "streamrag/gateway-log4j2.properties";

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers.")
  String bootstrapServers;

  @Option(
      names = "--kafka-properties-file",
      paramLabel = "FILE",
      description =
          "Kafka client properties (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*)"
              + " for every Kafka client of the gateway. Secrets in it must be references the"
              + " Kafka client resolves: $${dir:DIR:FILE}, $${file:PATH:KEY}, $${env:NAME}; one"
              + " written out is refused. Unset: plaintext.")
  Path kafkaPropertiesFile;

  @Option(
      names = "--requests-topic",
      paramLabel = "TOPIC",
      description = "Topic the requests are produced to.")
  String requestsTopic;

  @Option(
      names = "--pieces-topic",
      paramLabel = "TOPIC",
      description =
          "Topic the answers' pieces come back on; must be pieces.topic or in"
              + " pieces.reply-topics of the inference job.")
  String piecesTopic;

  @Option(
      names = "--reply-partition",
      paramLabel = "N",
      description = "The partition of the pieces topic this instance reads; one per instance.")
  int replyPartition;

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description = "API listen address (0.0.0.0 in a container).")
  String host;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description = "API port; 0 picks a free one (printed at start).")
  int port;

  @Option(
      names = "--management-host",
      paramLabel = "ADDRESS",
      description = "Listen address of /health and /metrics when --management-port is set.")
  String managementHost;

  @Option(
      names = "--management-port",
      paramLabel = "PORT",
      description =
          "Port of /health and /metrics, so they can stay private; -1 serves them on the API"
              + " port, 0 picks a free one.")
  int managementPort;

  @Option(
      names = "--api-keys-file",
      paramLabel = "FILE",
      description =
          "API keys, one '<key> <tenant>' per line, '#' comments; readable by its owner only."
              + " Keys can also come from "
              + API_KEYS_ENV
              + " (key=tenant,...).")
  Path apiKeysFile;

  @Option(
      names = "--strict-keys-file",
      description =
          "Refuse to start when the API keys file is readable by its group or others (else a"
              + " warning).")
  boolean strictKeysFile;

  @Option(
      names = "--models",
      paramLabel = "LIST",
      split = ",",
      description =
          "Comma-separated models the inference job serves; others get 404. None: any model is"
              + " forwarded and the job decides.")
  List<String> models = new ArrayList<>();

  @Option(
      names = "--indexes",
      paramLabel = "LIST",
      split = ",",
      description =
          "Comma-separated retrieval indexes a request may name in streamrag.retrieval.index."
              + " None: any plain index name.")
  List<String> indexes = new ArrayList<>();

  @Option(
      names = "--default-kind",
      paramLabel = "KIND",
      description = "Kind of requests without streamrag.kind: CHAT or RAG.")
  RequestKind defaultKind;

  @Option(
      names = "--default-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Deadline = arrival + this, unless streamrag.timeout_ms is set.")
  Duration defaultTimeout;

  @Option(
      names = "--max-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Largest streamrag.timeout_ms accepted.")
  Duration maxTimeout;

  @Option(
      names = "--deadline-grace",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "How long past the deadline to wait for the job's END (its own TIMEOUT) before"
              + " answering 504.")
  Duration deadlineGrace;

  @Option(
      names = "--max-body-bytes",
      paramLabel = "BYTES",
      description =
          "Larger request bodies get 413; at most 1048576, the largest request record Kafka and"
              + " the job take.")
  long maxBodyBytes;

  @Option(
      names = "--max-streams",
      paramLabel = "N",
      description = "Open requests per instance; beyond it, 429.")
  int maxStreams;

  @Option(
      names = "--max-connections",
      paramLabel = "N",
      description = "Open client connections per instance; beyond it, new ones are closed.")
  int maxConnections;

  @Option(
      names = "--max-client-buffer-bytes",
      paramLabel = "BYTES",
      description = "A streaming client this far behind is disconnected.")
  long maxClientBufferBytes;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "A connection without a request in progress for this long is closed (also one whose"
              + " request headers do not arrive).")
  Duration idleTimeout;

  @Option(
      names = "--body-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "A request whose body has not fully arrived this long after its headers gets 408.")
  Duration bodyTimeout;

  @Option(
      names = "--sse-keep-alive",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "A waiting stream gets a ': keep-alive' comment this often; one with no text yet begins"
              + " (status 200) after this long, so proxies do not time it out.")
  Duration sseKeepAlive;

  @Option(
      names = "--drain-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "How long a client may take to read the rest of a finished answer before its"
              + " connection is reset; it counts against --max-streams until then.")
  Duration drainTimeout;

  @Option(
      names = "--shutdown-grace",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "On SIGTERM, how long to let open requests finish (new ones get 503) before stopping.")
  Duration shutdownGrace;

  @Option(
      names = "--kafka-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "Longest a Kafka call may take (health check, max.block.ms; delivery.timeout.ms is"
              + " twice this).")
  Duration kafkaTimeout;

  @Option(
      names = "--health-interval",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "How often Kafka is checked in the background.")
  Duration healthInterval;

  @Option(
      names = "--event-loops",
      paramLabel = "N",
      description = "HTTP server instances sharing the port; 0 is one per core.")
  int eventLoops;

  @Spec CommandLine.Model.CommandSpec spec;

  private final Map<String, String> environment;

  /** Options from the command line and this process's environment. */
  public GatewayMain() {
    this(System.getenv());
  }

  /** Options from the command line and {@code environment} (tests). */
  GatewayMain(Map<String, String> environment) {
    this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
  }

  /** The command line of a gateway reading {@code environment}. */
  static CommandLine commandLine(Map<String, String> environment) {
    CommandLine commandLine = new CommandLine(new GatewayMain(environment));
    commandLine.setDefaultValueProvider(new Defaults(environment));
    return commandLine;
  }

  public static void main(String[] args) {
    if (System.getProperty("log4j2.configurationFile") == null
        && System.getProperty("log4j.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile", LOG_CONFIG);
    }
    System.exit(commandLine(System.getenv()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    GatewayConfig config;
    try {
      config = config(err);
    } catch (IllegalArgumentException e) {
      err.println("gateway: " + e.getMessage());
      err.flush();
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
                  gateway.shutdown();
                  stopped.countDown();
                },
                "gateway-shutdown"));
    String management =
        config.separateManagement() ? " management on " + gateway.managementBaseUrl() : "";
    spec.commandLine()
        .getOut()
        .printf(
            "gateway listening on %s (requests to %s, replies from %s partition %d)%s%n",
            gateway.baseUrl(),
            config.kafka().requestsTopic(),
            config.kafka().piecesTopic(),
            config.kafka().replyPartition(),
            management)
        .flush();
    stopped.await();
    return 0;
  }

  /**
   * The configuration the options describe; IllegalArgumentException names what is wrong. Warnings
   * (a keys file others can read) go to {@code err}.
   */
  GatewayConfig config(PrintWriter err) {
    List<ApiKeyEntry> keys = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    if (apiKeysFile != null) {
      String exposure = ApiKeysFile.exposure(apiKeysFile);
      if (exposure != null) {
        if (strictKeysFile) {
          errors.add(exposure);
        } else {
          err.println("gateway: warning: " + exposure);
          err.flush();
        }
      }
      ApiKeysFile.Parsed parsed = ApiKeysFile.read(apiKeysFile);
      keys.addAll(parsed.entries());
      errors.addAll(parsed.errors());
    }
    String fromEnvironment = environment.get(API_KEYS_ENV);
    if (fromEnvironment != null && !fromEnvironment.isBlank()) {
      ApiKeysFile.Parsed parsed = ApiKeysFile.parseList(fromEnvironment, API_KEYS_ENV);
      keys.addAll(parsed.entries());
      errors.addAll(parsed.errors());
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("invalid API keys: " + String.join("; ", errors));
    }
    return GatewayConfig.builder()
        .bootstrapServers(bootstrapServers)
        .kafkaPropertiesFile(kafkaPropertiesFile)
        .requestsTopic(requestsTopic)
        .piecesTopic(piecesTopic)
        .replyPartition(replyPartition)
        .kafkaTimeout(kafkaTimeout)
        .healthInterval(healthInterval)
        .host(host)
        .port(port)
        .managementHost(managementHost)
        .managementPort(managementPort)
        .addApiKeys(keys)
        .models(names(models))
        .indexes(names(indexes))
        .defaultKind(defaultKind)
        .defaultTimeout(defaultTimeout)
        .maxTimeout(maxTimeout)
        .deadlineGrace(deadlineGrace)
        .maxBodyBytes(maxBodyBytes)
        .maxStreams(maxStreams)
        .maxConnections(maxConnections)
        .maxClientBufferBytes(maxClientBufferBytes)
        .idleTimeout(idleTimeout)
        .bodyTimeout(bodyTimeout)
        .sseKeepAlive(sseKeepAlive)
        .drainTimeout(drainTimeout)
        .shutdownGrace(shutdownGrace)
        .eventLoops(eventLoops)
        .build();
  }

  private static List<String> names(List<String> values) {
    return values.stream().map(String::strip).filter(m -> !m.isEmpty()).toList();
  }

  /** {@code STREAMRAG_GATEWAY_MAX_STREAMS} for {@code --max-streams}. */
  static String environmentVariable(String option) {
    return ENV_PREFIX + option.substring(2).replace('-', '_').toUpperCase(Locale.ROOT);
  }

  /**
   * The README's table of options: name, environment variable, default and meaning, as {@code
   * --help} has them. GatewayMainTest checks the README holds exactly this.
   */
  static String optionsTable() {
    StringBuilder table =
        new StringBuilder("| option | env | default | meaning |\n|---|---|---|---|\n");
    Defaults defaults = new Defaults(Map.of());
    for (OptionSpec option : commandLine(Map.of()).getCommandSpec().options()) {
      if (option.usageHelp() || option.versionHelp()) {
        continue;
      }
      String name = option.longestName();
      String value = defaults.builtIn(name);
      table
          .append("| `")
          .append(name)
          .append(option.typeInfo().isBoolean() ? "" : " " + option.paramLabel())
          .append("` | `")
          .append(environmentVariable(name))
          .append("` | ")
          .append(value == null ? "—" : "`" + value + "`")
          .append(" | ")
          .append(String.join(" ", option.description()))
          .append(" |\n");
    }
    return table.toString();
  }

  /**
   * Supplies every option's default: its environment variable if set, else the built-in default,
   * which is {@link GatewayConfig}'s constant written as the option reads it.
   */
  static final class Defaults implements CommandLine.IDefaultValueProvider {
    private static final Map<String, String> BUILT_IN =
        Map.ofEntries(
            Map.entry("--bootstrap-servers", GatewayConfig.DEFAULT_BOOTSTRAP_SERVERS),
            Map.entry("--requests-topic", GatewayConfig.DEFAULT_REQUESTS_TOPIC),
            Map.entry("--pieces-topic", GatewayConfig.DEFAULT_PIECES_TOPIC),
            Map.entry("--reply-partition", text(GatewayConfig.DEFAULT_REPLY_PARTITION)),
            Map.entry("--host", GatewayConfig.DEFAULT_HOST),
            Map.entry("--port", text(GatewayConfig.DEFAULT_PORT)),
            Map.entry("--management-host", GatewayConfig.DEFAULT_MANAGEMENT_HOST),
            Map.entry("--management-port", text(GatewayConfig.DEFAULT_MANAGEMENT_PORT)),
            Map.entry("--strict-keys-file", "false"),
            Map.entry("--default-kind", GatewayConfig.DEFAULT_KIND.name()),
            Map.entry("--default-timeout", text(GatewayConfig.DEFAULT_TIMEOUT)),
            Map.entry("--max-timeout", text(GatewayConfig.DEFAULT_MAX_TIMEOUT)),
            Map.entry("--deadline-grace", text(GatewayConfig.DEFAULT_DEADLINE_GRACE)),
            Map.entry("--max-body-bytes", text(GatewayConfig.DEFAULT_MAX_BODY_BYTES)),
            Map.entry("--max-streams", text(GatewayConfig.DEFAULT_MAX_STREAMS)),
            Map.entry("--max-connections", text(GatewayConfig.DEFAULT_MAX_CONNECTIONS)),
            Map.entry(
                "--max-client-buffer-bytes", text(GatewayConfig.DEFAULT_MAX_CLIENT_BUFFER_BYTES)),
            Map.entry("--idle-timeout", text(GatewayConfig.DEFAULT_IDLE_TIMEOUT)),
            Map.entry("--body-timeout", text(GatewayConfig.DEFAULT_BODY_TIMEOUT)),
            Map.entry("--sse-keep-alive", text(GatewayConfig.DEFAULT_SSE_KEEP_ALIVE)),
            Map.entry("--drain-timeout", text(GatewayConfig.DEFAULT_DRAIN_TIMEOUT)),
            Map.entry("--shutdown-grace", text(GatewayConfig.DEFAULT_SHUTDOWN_GRACE)),
            Map.entry("--kafka-timeout", text(GatewayConfig.DEFAULT_KAFKA_TIMEOUT)),
            Map.entry("--health-interval", text(GatewayConfig.DEFAULT_HEALTH_INTERVAL)),
            Map.entry("--event-loops", text(GatewayConfig.DEFAULT_EVENT_LOOPS)));

    private final Map<String, String> environment;

    Defaults(Map<String, String> environment) {
      this.environment = environment;
    }

    @Override
    public String defaultValue(ArgSpec argument) {
      if (!(argument instanceof OptionSpec option)) {
        return null;
      }
      String name = option.longestName();
      String fromEnvironment = environment.get(environmentVariable(name));
      return fromEnvironment != null ? fromEnvironment : builtIn(name);
    }

    /** The default of {@code option} without the environment; null when it has none. */
    String builtIn(String option) {
      return BUILT_IN.get(option);
    }

    private static String text(long value) {
      return Long.toString(value);
    }

    private static String text(Duration value) {
      return DurationConverter.format(value);
    }
  }
}
