package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeyEntry;
import dev.streamrag.gateway.kafka.KafkaSettings;
import dev.streamrag.gateway.kafka.RequestPublisher;
import dev.streamrag.gateway.openai.IndexNames;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.security.KafkaClientSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link Gateway} is started with. Built by {@link #builder()}, whose {@code build()}
 * checks every value, so a bad setting fails at start with a message that names it.
 *
 * <p>The {@code DEFAULT_*} constants are the only place defaults are written: the builder starts
 * from them, and {@link GatewayMain}'s options show and use them through its default provider.
 */
public final class GatewayConfig {
  public static final String DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092";
  public static final String DEFAULT_REQUESTS_TOPIC = "rag.requests";
  public static final String DEFAULT_PIECES_TOPIC = "rag.pieces";
  public static final int DEFAULT_REPLY_PARTITION = 0;
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;

  /** {@code --management-port} value that serves /health and /metrics on the API listener. */
  public static final int SAME_LISTENER = -1;

  public static final String DEFAULT_MANAGEMENT_HOST = "127.0.0.1";
  public static final int DEFAULT_MANAGEMENT_PORT = SAME_LISTENER;
  public static final RequestKind DEFAULT_KIND = RequestKind.CHAT;
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_MAX_TIMEOUT = Duration.ofMinutes(5);
  public static final Duration DEFAULT_DEADLINE_GRACE = Duration.ofSeconds(5);

  /**
   * The largest {@code --max-body-bytes} accepted: a body's request record must fit what the
   * producer sends and the job decodes, and a body never encodes much smaller than it is.
   */
  public static final long MAX_BODY_BYTES_LIMIT = RequestPublisher.MAX_RECORD_BYTES;

  public static final long DEFAULT_MAX_BODY_BYTES = MAX_BODY_BYTES_LIMIT;
  public static final int DEFAULT_MAX_STREAMS = 1000;
  public static final int DEFAULT_MAX_CONNECTIONS = 4096;
  public static final long DEFAULT_MAX_CLIENT_BUFFER_BYTES = 1024 * 1024;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(20);
  public static final Duration DEFAULT_SSE_KEEP_ALIVE = Duration.ofSeconds(10);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(20);
  public static final Duration DEFAULT_KAFKA_TIMEOUT = Duration.ofSeconds(2);
  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(1);

  /** {@code --event-loops} value for one event loop per core. */
  public static final int DEFAULT_EVENT_LOOPS = 0;

  private final KafkaSettings kafka;
  private final String host;
  private final int port;
  private final String managementHost;
  private final int managementPort;
  private final List<ApiKeyEntry> apiKeys;
  private final List<String> models;
  private final List<String> indexes;
  private final RequestKind defaultKind;
  private final Duration defaultTimeout;
  private final Duration maxTimeout;
  private final Duration deadlineGrace;
  private final long maxBodyBytes;
  private final int maxStreams;
  private final int maxConnections;
  private final long maxClientBufferBytes;
  private final Duration idleTimeout;
  private final Duration bodyTimeout;
  private final Duration sseKeepAlive;
  private final Duration drainTimeout;
  private final Duration shutdownGrace;
  private final int eventLoops;
  private final Duration healthInterval;

  private GatewayConfig(Builder builder) {
    this.kafka =
        new KafkaSettings(
            KafkaClientSettings.of(
                builder.bootstrapServers, builder.kafkaPropertiesFile, java.util.Map.of()),
            builder.requestsTopic,
            builder.piecesTopic,
            builder.replyPartition,
            builder.kafkaTimeout);
    this.host = builder.host;
    this.port = builder.port;
    this.managementHost = builder.managementHost;
    this.managementPort = builder.managementPort;
    this.apiKeys = List.copyOf(builder.apiKeys);
    this.models = List.copyOf(builder.models);
    this.indexes = List.copyOf(builder.indexes);
    this.defaultKind = builder.defaultKind;
    this.defaultTimeout = builder.defaultTimeout;
    this.maxTimeout = builder.maxTimeout;
    this.deadlineGrace = builder.deadlineGrace;
    this.maxBodyBytes = builder.maxBodyBytes;
    this.maxStreams = builder.maxStreams;
    this.maxConnections = builder.maxConnections;
    this.maxClientBufferBytes = builder.maxClientBufferBytes;
    this.idleTimeout = builder.idleTimeout;
    this.bodyTimeout = builder.bodyTimeout;
    this.sseKeepAlive = builder.sseKeepAlive;
    this.drainTimeout = builder.drainTimeout;
    this.shutdownGrace = builder.shutdownGrace;
    this.eventLoops =
        builder.eventLoops > 0
            ? builder.eventLoops
            : Math.max(1, Runtime.getRuntime().availableProcessors());
    this.healthInterval = builder.healthInterval;
  }

  public static Builder builder() {
    return new Builder();
  }

  public KafkaSettings kafka() {
    return kafka;
  }

  public String host() {
    return host;
  }

  /** 0 picks a free port. */
  public int port() {
    return port;
  }

  public String managementHost() {
    return managementHost;
  }

  /** {@link #SAME_LISTENER}: /health and /metrics on the API port; 0 picks a free port. */
  public int managementPort() {
    return managementPort;
  }

  /** Whether /health and /metrics have a listener of their own. */
  public boolean separateManagement() {
    return managementPort != SAME_LISTENER;
  }

  public List<ApiKeyEntry> apiKeys() {
    return apiKeys;
  }

  /** The models the inference job serves; empty forwards any model. */
  public List<String> models() {
    return models;
  }

  /** The retrieval indexes a request may name; empty allows any well-formed name. */
  public List<String> indexes() {
    return indexes;
  }

  public RequestKind defaultKind() {
    return defaultKind;
  }

  public Duration defaultTimeout() {
    return defaultTimeout;
  }

  public Duration maxTimeout() {
    return maxTimeout;
  }

  /** How long past a request's deadline the gateway still waits for its END. */
  public Duration deadlineGrace() {
    return deadlineGrace;
  }

  public long maxBodyBytes() {
    return maxBodyBytes;
  }

  public int maxStreams() {
    return maxStreams;
  }

  /** Open client connections beyond which new ones are closed at once. */
  public int maxConnections() {
    return maxConnections;
  }

  public long maxClientBufferBytes() {
    return maxClientBufferBytes;
  }

  /** How long a connection may sit without a request in progress before it is closed. */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /** How long a client may take to send a request's body once its headers arrived. */
  public Duration bodyTimeout() {
    return bodyTimeout;
  }

  /** How often a waiting event stream gets a {@code : keep-alive} comment. */
  public Duration sseKeepAlive() {
    return sseKeepAlive;
  }

  /** How long a client may take to read the rest of an answer after the gateway ended it. */
  public Duration drainTimeout() {
    return drainTimeout;
  }

  /** How long a stopping gateway waits for its open exchanges. */
  public Duration shutdownGrace() {
    return shutdownGrace;
  }

  /** The number of HTTP event loops (resolved: one per core when configured as 0). */
  public int eventLoops() {
    return eventLoops;
  }

  public Duration healthInterval() {
    return healthInterval;
  }

  /** Settings of a {@link GatewayConfig}; {@link #build()} checks them. */
  public static final class Builder {
    private String bootstrapServers = DEFAULT_BOOTSTRAP_SERVERS;
    private java.nio.file.Path kafkaPropertiesFile;
    private String requestsTopic = DEFAULT_REQUESTS_TOPIC;
    private String piecesTopic = DEFAULT_PIECES_TOPIC;
    private int replyPartition = DEFAULT_REPLY_PARTITION;
    private Duration kafkaTimeout = DEFAULT_KAFKA_TIMEOUT;
    private String host = DEFAULT_HOST;
    private int port = DEFAULT_PORT;
    private String managementHost = DEFAULT_MANAGEMENT_HOST;
    private int managementPort = DEFAULT_MANAGEMENT_PORT;
    private final List<ApiKeyEntry> apiKeys = new ArrayList<>();
    private List<String> models = List.of();
    private List<String> indexes = List.of();
    private RequestKind defaultKind = DEFAULT_KIND;
    private Duration defaultTimeout = DEFAULT_TIMEOUT;
    private Duration maxTimeout = DEFAULT_MAX_TIMEOUT;
    private Duration deadlineGrace = DEFAULT_DEADLINE_GRACE;
    private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private int maxStreams = DEFAULT_MAX_STREAMS;
    private int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private long maxClientBufferBytes = DEFAULT_MAX_CLIENT_BUFFER_BYTES;
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private Duration bodyTimeout = DEFAULT_BODY_TIMEOUT;
    private Duration sseKeepAlive = DEFAULT_SSE_KEEP_ALIVE;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private Duration shutdownGrace = DEFAULT_SHUTDOWN_GRACE;
    private int eventLoops = DEFAULT_EVENT_LOOPS;
    private Duration healthInterval = DEFAULT_HEALTH_INTERVAL;

    private Builder() {}

    public Builder bootstrapServers(String bootstrapServers) {
      this.bootstrapServers = bootstrapServers;
      return this;
    }

    /**
     * Kafka client properties (security.protocol, sasl.*, ssl.*) for every Kafka client of the
     * gateway; secrets in it must be references ({@code ${dir:DIR:FILE}}, {@code ${env:NAME}}).
     * Null: plaintext, unauthenticated.
     */
    public Builder kafkaPropertiesFile(java.nio.file.Path kafkaPropertiesFile) {
      this.kafkaPropertiesFile = kafkaPropertiesFile;
      return this;
    }

    public Builder requestsTopic(String requestsTopic) {
      this.requestsTopic = requestsTopic;
      return this;
    }

    public Builder piecesTopic(String piecesTopic) {
      this.piecesTopic = piecesTopic;
      return this;
    }

    /** The partition of the pieces topic this instance reads; one per instance. */
    public Builder replyPartition(int replyPartition) {
      this.replyPartition = replyPartition;
      return this;
    }

    /** How long a Kafka call may take before Kafka counts as unreachable. */
    public Builder kafkaTimeout(Duration kafkaTimeout) {
      this.kafkaTimeout = kafkaTimeout;
      return this;
    }

    public Builder host(String host) {
      this.host = host;
      return this;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public Builder managementHost(String managementHost) {
      this.managementHost = managementHost;
      return this;
    }

    public Builder managementPort(int managementPort) {
      this.managementPort = managementPort;
      return this;
    }

    public Builder addApiKey(String key, String tenant) {
      apiKeys.add(new ApiKeyEntry(key, tenant, "api key #" + (apiKeys.size() + 1)));
      return this;
    }

    public Builder addApiKeys(List<ApiKeyEntry> entries) {
      apiKeys.addAll(entries);
      return this;
    }

    public Builder models(List<String> models) {
      this.models = List.copyOf(models);
      return this;
    }

    public Builder indexes(List<String> indexes) {
      this.indexes = List.copyOf(indexes);
      return this;
    }

    public Builder defaultKind(RequestKind defaultKind) {
      this.defaultKind = defaultKind;
      return this;
    }

    public Builder defaultTimeout(Duration defaultTimeout) {
      this.defaultTimeout = defaultTimeout;
      return this;
    }

    public Builder maxTimeout(Duration maxTimeout) {
      this.maxTimeout = maxTimeout;
      return this;
    }

    public Builder deadlineGrace(Duration deadlineGrace) {
      this.deadlineGrace = deadlineGrace;
      return this;
    }

    public Builder maxBodyBytes(long maxBodyBytes) {
      this.maxBodyBytes = maxBodyBytes;
      return this;
    }

    public Builder maxStreams(int maxStreams) {
      this.maxStreams = maxStreams;
      return this;
    }

    public Builder maxConnections(int maxConnections) {
      this.maxConnections = maxConnections;
      return this;
    }

    public Builder maxClientBufferBytes(long maxClientBufferBytes) {
      this.maxClientBufferBytes = maxClientBufferBytes;
      return this;
    }

    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    public Builder bodyTimeout(Duration bodyTimeout) {
      this.bodyTimeout = bodyTimeout;
      return this;
    }

    public Builder sseKeepAlive(Duration sseKeepAlive) {
      this.sseKeepAlive = sseKeepAlive;
      return this;
    }

    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = drainTimeout;
      return this;
    }

    public Builder shutdownGrace(Duration shutdownGrace) {
      this.shutdownGrace = shutdownGrace;
      return this;
    }

    /** HTTP event loops; 0 is one per core. */
    public Builder eventLoops(int eventLoops) {
      this.eventLoops = eventLoops;
      return this;
    }

    public Builder healthInterval(Duration healthInterval) {
      this.healthInterval = healthInterval;
      return this;
    }

    public GatewayConfig build() {
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw new IllegalArgumentException("bootstrap servers are required (--bootstrap-servers)");
      }
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(managementHost, "managementHost");
      Objects.requireNonNull(defaultKind, "defaultKind");
      for (Duration duration :
          List.of(
              kafkaTimeout,
              defaultTimeout,
              maxTimeout,
              deadlineGrace,
              idleTimeout,
              bodyTimeout,
              sseKeepAlive,
              drainTimeout,
              shutdownGrace,
              healthInterval)) {
        Objects.requireNonNull(duration, "a duration setting is null");
      }
      checkPort("port", port, 0);
      checkPort("management port", managementPort, SAME_LISTENER);
      if (apiKeys.isEmpty()) {
        throw new IllegalArgumentException(
            "no API keys configured: give --api-keys-file FILE or set STREAMRAG_GATEWAY_API_KEYS");
      }
      if (defaultKind == RequestKind.AGENT) {
        throw new IllegalArgumentException("the default kind must be CHAT or RAG, got AGENT");
      }
      if (defaultTimeout.toMillis() < 1 || maxTimeout.compareTo(defaultTimeout) < 0) {
        throw new IllegalArgumentException(
            "need 0 < default timeout ("
                + defaultTimeout
                + ") <= max timeout ("
                + maxTimeout
                + ")");
      }
      if (deadlineGrace.isNegative()) {
        throw new IllegalArgumentException("deadline grace must not be negative: " + deadlineGrace);
      }
      if (maxBodyBytes < 1024 || maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
        throw new IllegalArgumentException(
            "max body bytes must be between 1024 and "
                + MAX_BODY_BYTES_LIMIT
                + " (the largest request record Kafka and the inference job take): "
                + maxBodyBytes);
      }
      if (maxStreams < 1) {
        throw new IllegalArgumentException("max streams must be at least 1: " + maxStreams);
      }
      if (maxConnections < 1) {
        throw new IllegalArgumentException("max connections must be at least 1: " + maxConnections);
      }
      if (maxClientBufferBytes < 1024) {
        throw new IllegalArgumentException(
            "max client buffer bytes must be at least 1024: " + maxClientBufferBytes);
      }
      checkAtLeast("idle timeout", idleTimeout, Duration.ofMillis(100));
      checkAtLeast("body timeout", bodyTimeout, Duration.ofMillis(100));
      checkAtLeast("SSE keep-alive", sseKeepAlive, Duration.ofMillis(100));
      checkAtLeast("drain timeout", drainTimeout, Duration.ofMillis(100));
      checkAtLeast("health interval", healthInterval, Duration.ofMillis(100));
      if (shutdownGrace.isNegative()) {
        throw new IllegalArgumentException("shutdown grace must not be negative: " + shutdownGrace);
      }
      if (eventLoops < 0) {
        throw new IllegalArgumentException(
            "event loops must be at least 1, or 0 for one per core: " + eventLoops);
      }
      for (String index : indexes) {
        String problem = IndexNames.problem(index);
        if (problem != null) {
          throw new IllegalArgumentException("--indexes: " + problem);
        }
      }
      return new GatewayConfig(this);
    }

    private static void checkPort(String name, int port, int lowest) {
      if (port < lowest || port > 65535) {
        throw new IllegalArgumentException(
            name + " must be between " + lowest + " and 65535, got " + port);
      }
    }

    private static void checkAtLeast(String name, Duration value, Duration least) {
      if (value.compareTo(least) < 0) {
        throw new IllegalArgumentException(
            name + " must be at least " + least.toMillis() + " ms: " + value);
      }
    }
  }
}
