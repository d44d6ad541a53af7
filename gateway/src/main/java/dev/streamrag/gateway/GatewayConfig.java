package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeyEntry;
import dev.streamrag.gateway.kafka.KafkaSettings;
import dev.streamrag.schemas.RequestKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link Gateway} is started with. Built by {@link #builder()}, whose {@code build()}
 * checks every value, so a bad setting fails at start with a message that names it. Defaults are
 * those of {@link GatewayMain}'s options.
 */
public final class GatewayConfig {
  public static final String DEFAULT_REQUESTS_TOPIC = "rag.requests";
  public static final String DEFAULT_PIECES_TOPIC = "rag.pieces";

  private final KafkaSettings kafka;
  private final String host;
  private final int port;
  private final List<ApiKeyEntry> apiKeys;
  private final List<String> models;
  private final RequestKind defaultKind;
  private final Duration defaultTimeout;
  private final Duration maxTimeout;
  private final Duration deadlineGrace;
  private final long maxBodyBytes;
  private final int maxStreams;
  private final long maxClientBufferBytes;
  private final int eventLoops;
  private final Duration healthInterval;

  private GatewayConfig(Builder builder) {
    this.kafka =
        new KafkaSettings(
            builder.bootstrapServers,
            builder.requestsTopic,
            builder.piecesTopic,
            builder.replyPartition,
            builder.kafkaTimeout);
    this.host = builder.host;
    this.port = builder.port;
    this.apiKeys = List.copyOf(builder.apiKeys);
    this.models = List.copyOf(builder.models);
    this.defaultKind = builder.defaultKind;
    this.defaultTimeout = builder.defaultTimeout;
    this.maxTimeout = builder.maxTimeout;
    this.deadlineGrace = builder.deadlineGrace;
    this.maxBodyBytes = builder.maxBodyBytes;
    this.maxStreams = builder.maxStreams;
    this.maxClientBufferBytes = builder.maxClientBufferBytes;
    this.eventLoops = builder.eventLoops;
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

  public List<ApiKeyEntry> apiKeys() {
    return apiKeys;
  }

  /** The models the inference job serves; empty forwards any model. */
  public List<String> models() {
    return models;
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

  public long maxClientBufferBytes() {
    return maxClientBufferBytes;
  }

  public int eventLoops() {
    return eventLoops;
  }

  public Duration healthInterval() {
    return healthInterval;
  }

  /** Settings of a {@link GatewayConfig}; {@link #build()} checks them. */
  public static final class Builder {
    private String bootstrapServers;
    private String requestsTopic = DEFAULT_REQUESTS_TOPIC;
    private String piecesTopic = DEFAULT_PIECES_TOPIC;
    private int replyPartition;
    private Duration kafkaTimeout = Duration.ofSeconds(2);
    private String host = "127.0.0.1";
    private int port = 8080;
    private final List<ApiKeyEntry> apiKeys = new ArrayList<>();
    private List<String> models = List.of();
    private RequestKind defaultKind = RequestKind.CHAT;
    private Duration defaultTimeout = Duration.ofSeconds(30);
    private Duration maxTimeout = Duration.ofMinutes(5);
    private Duration deadlineGrace = Duration.ofSeconds(5);
    private long maxBodyBytes = 1024 * 1024;
    private int maxStreams = 1000;
    private long maxClientBufferBytes = 1024 * 1024;
    private int eventLoops = Math.max(1, Runtime.getRuntime().availableProcessors());
    private Duration healthInterval = Duration.ofSeconds(1);

    private Builder() {}

    public Builder bootstrapServers(String bootstrapServers) {
      this.bootstrapServers = bootstrapServers;
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

    public Builder maxClientBufferBytes(long maxClientBufferBytes) {
      this.maxClientBufferBytes = maxClientBufferBytes;
      return this;
    }

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
      Objects.requireNonNull(defaultKind, "defaultKind");
      Objects.requireNonNull(kafkaTimeout, "kafkaTimeout");
      Objects.requireNonNull(defaultTimeout, "defaultTimeout");
      Objects.requireNonNull(maxTimeout, "maxTimeout");
      Objects.requireNonNull(deadlineGrace, "deadlineGrace");
      Objects.requireNonNull(healthInterval, "healthInterval");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      if (apiKeys.isEmpty()) {
        throw new IllegalArgumentException(
            "no API keys configured: give --api-keys FILE or --api-key KEY=TENANT");
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
      if (maxBodyBytes < 1024) {
        throw new IllegalArgumentException("max body bytes must be at least 1024: " + maxBodyBytes);
      }
      if (maxStreams < 1) {
        throw new IllegalArgumentException("max streams must be at least 1: " + maxStreams);
      }
      if (maxClientBufferBytes < 1024) {
        throw new IllegalArgumentException(
            "max client buffer bytes must be at least 1024: " + maxClientBufferBytes);
      }
      if (eventLoops < 1) {
        throw new IllegalArgumentException("event loops must be at least 1: " + eventLoops);
      }
      if (healthInterval.toMillis() < 100) {
        throw new IllegalArgumentException(
            "health interval must be at least 100 ms: " + healthInterval);
      }
      return new GatewayConfig(this);
    }
  }
}
