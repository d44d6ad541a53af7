package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeys;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
import dev.streamrag.gateway.exchange.PieceRouter;
import dev.streamrag.gateway.http.HttpApi;
import dev.streamrag.gateway.kafka.KafkaAvailability;
import dev.streamrag.gateway.kafka.KafkaHealth;
import dev.streamrag.gateway.kafka.ReplyPartitionListener;
import dev.streamrag.gateway.kafka.RequestPublisher;
import dev.streamrag.gateway.kafka.TopicCheck;
import dev.streamrag.gateway.metrics.GatewayMetrics;
import dev.streamrag.gateway.openai.ChatRequestMapper;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerOptions;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the HTTP servers (one per event loop, sharing the port), the Kafka producer of
 * requests, the consumer of this instance's reply partition, and the Kafka health check. {@link
 * #start} returns once it serves; {@link #close()} stops everything it started.
 *
 * <p>A gateway whose Kafka does not answer at start still starts, and answers 503 until Kafka is
 * back; one whose topics or reply partition do not exist does not start, since that is a
 * configuration error no wait will cure.
 */
public final class Gateway implements AutoCloseable, KafkaAvailability {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final Duration POSITION_WAIT = Duration.ofSeconds(10);

  private final GatewayConfig config;
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final ExchangeRegistry exchanges;
  private final KafkaHealth health;
  private final ReplyPartitionListener listener;
  private final RequestPublisher publisher;
  private final Vertx vertx;
  private final AtomicInteger port = new AtomicInteger();

  private Gateway(GatewayConfig config) {
    this.config = config;
    this.exchanges = new ExchangeRegistry(config.maxStreams());
    this.health = new KafkaHealth(config.kafka());
    PieceRouter router = new PieceRouter(exchanges, metrics);
    this.listener = new ReplyPartitionListener(config.kafka(), router::route);
    this.publisher = new RequestPublisher(config.kafka());
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops()));
  }

  /**
   * Starts a gateway.
   *
   * @throws IllegalArgumentException if the configuration is invalid (e.g. duplicate API keys)
   * @throws IllegalStateException if a topic or the reply partition does not exist, or the port
   *     cannot be bound
   */
  public static Gateway start(GatewayConfig config) {
    Objects.requireNonNull(config, "config");
    ApiKeys keys = ApiKeys.of(config.apiKeys());
    ChatRequestMapper mapper =
        ChatRequestMapper.builder()
            .models(config.models())
            .defaultKind(config.defaultKind())
            .defaultTimeout(config.defaultTimeout())
            .maxTimeout(config.maxTimeout())
            .build();
    Gateway gateway = new Gateway(config);
    try {
      gateway.startKafka();
      gateway.startHttp(keys, mapper);
      return gateway;
    } catch (RuntimeException e) {
      gateway.close();
      throw e;
    }
  }

  private void startKafka() {
    TopicCheck check = health.checkNow();
    if (check.outcome() == TopicCheck.Outcome.MISCONFIGURED) {
      throw new IllegalStateException(check.message());
    }
    listener.start();
    if (check.isOk()) {
      publisher.warmUp();
      try {
        if (!listener.awaitPositioned(POSITION_WAIT)) {
          LOG.warn(
              "The reply partition consumer is not positioned yet; requests get 503 until it is");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting", e);
      }
    } else {
      LOG.warn("{}; starting anyway, requests get 503 until Kafka answers", check.message());
    }
    metrics.kafkaUp(available());
    health.onChange(up -> metrics.kafkaUp(available()));
    health.checkEvery(config.healthInterval());
  }

  private void startHttp(ApiKeys keys, ChatRequestMapper mapper) {
    HttpApi api = new HttpApi(vertx, config, keys, mapper, exchanges, publisher, this, metrics);
    // A negative port makes Vert.x pick one free port and share it among the instances.
    HttpServerOptions options =
        new HttpServerOptions()
            .setHost(config.host())
            .setPort(config.port() == 0 ? -1 : config.port())
            .setTcpNoDelay(true);
    try {
      vertx
          .deployVerticle(
              () -> new HttpVerticle(api, options),
              new DeploymentOptions().setInstances(config.eventLoops()))
          .toCompletionStage()
          .toCompletableFuture()
          .get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the gateway", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "the gateway cannot listen on "
              + config.host()
              + ":"
              + config.port()
              + ": "
              + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /** One HTTP server on the event loop this verticle instance is deployed to. */
  private final class HttpVerticle extends VerticleBase {
    private final HttpApi api;
    private final HttpServerOptions options;

    HttpVerticle(HttpApi api, HttpServerOptions options) {
      this.api = api;
      this.options = options;
    }

    @Override
    public Future<?> start() {
      return vertx
          .createHttpServer(options)
          .requestHandler(api.router())
          .listen()
          .onSuccess(server -> port.set(server.actualPort()));
    }
  }

  @Override
  public boolean available() {
    return health.available() && listener.positioned();
  }

  @Override
  public String reason() {
    if (!health.available()) {
      return health.reason();
    }
    return listener.positioned()
        ? null
        : "the consumer of reply partition " + config.kafka().replyPartition() + " is not ready";
  }

  public int port() {
    return port.get();
  }

  /** {@code http://HOST:PORT}; OpenAI clients take {@code baseUrl() + "/v1"}. */
  public String baseUrl() {
    String host = config.host();
    if (host.equals("0.0.0.0") || host.equals("::")) {
      host = "127.0.0.1";
    }
    return "http://" + host + ":" + port();
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** Open exchanges: requests waiting for or streaming their answer. */
  public int openExchanges() {
    return exchanges.size();
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      LOG.warn("Closing Vert.x failed", e.getCause());
    }
    listener.close();
    publisher.close();
    health.close();
  }
}
