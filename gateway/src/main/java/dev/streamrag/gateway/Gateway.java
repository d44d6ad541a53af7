package dev.streamrag.gateway;

import dev.streamrag.gateway.auth.ApiKeys;
import dev.streamrag.gateway.exchange.Exchange;
import dev.streamrag.gateway.exchange.ExchangeRegistry;
import dev.streamrag.gateway.exchange.PieceRouter;
import dev.streamrag.gateway.http.HttpApi;
import dev.streamrag.gateway.http.ServingState;
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
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: the HTTP servers (one per event loop, sharing the port; and a management
 * listener if configured), the Kafka producer of requests, the consumer of this instance's reply
 * partition, and the Kafka health check. {@link #start} returns once it serves; {@link #shutdown()}
 * drains it; {@link #close()} stops everything it started at once.
 *
 * <p>A gateway whose Kafka does not answer at start, or whose bootstrap names do not resolve yet,
 * still starts, and answers 503 until Kafka is back: the Kafka clients are created, and created
 * again after failures, in the background. One whose topics or reply partition do not exist does
 * not start, since that is a configuration error no wait will cure.
 */
public final class Gateway implements AutoCloseable, ServingState {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final Duration POSITION_WAIT = Duration.ofSeconds(10);

  /** How long failed exchanges get to write their error after the shutdown grace. */
  private static final Duration LAST_WORDS = Duration.ofSeconds(2);

  private final GatewayConfig config;
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final ExchangeRegistry exchanges;
  private final KafkaHealth health;
  private final ReplyPartitionListener listener;
  private final RequestPublisher publisher;
  private final Vertx vertx;
  private final AtomicInteger port = new AtomicInteger();
  private final AtomicInteger managementPort = new AtomicInteger();
  private final AtomicBoolean shuttingDown = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();

  private Gateway(GatewayConfig config) {
    this.config = config;
    this.exchanges = new ExchangeRegistry(config.maxStreams());
    this.health = new KafkaHealth(config.kafka());
    PieceRouter router = new PieceRouter(exchanges, metrics);
    this.listener = new ReplyPartitionListener(config.kafka(), router::route, this::answersLost);
    this.publisher = new RequestPublisher(config.kafka());
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops()));
  }

  /**
   * Starts a gateway.
   *
   * @throws IllegalArgumentException if the configuration is invalid (e.g. duplicate API keys)
   * @throws IllegalStateException if a topic or the reply partition does not exist, or a port
   *     cannot be bound
   */
  public static Gateway start(GatewayConfig config) {
    Objects.requireNonNull(config, "config");
    ApiKeys keys = ApiKeys.of(config.apiKeys());
    ChatRequestMapper mapper =
        ChatRequestMapper.builder()
            .models(config.models())
            .indexes(config.indexes())
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
      CompletableFuture<Boolean> producer = publisher.ensureStarted();
      try {
        if (!listener.awaitPositioned(POSITION_WAIT)) {
          LOG.warn(
              "The reply partition consumer is not positioned yet; requests get 503 until it is");
        }
        if (!producer.get(POSITION_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          LOG.warn("The Kafka producer is not created yet; requests get 503 until it is");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting", e);
      } catch (ExecutionException | TimeoutException e) {
        LOG.warn("The Kafka producer is not created yet; requests get 503 until it is");
      }
    } else {
      LOG.warn("{}; starting anyway, requests get 503 until Kafka answers", check.message());
    }
    metrics.kafkaUp(kafkaAvailable());
    health.onCheck(
        up -> {
          if (health.reachable()) {
            publisher.ensureStarted();
          }
          metrics.kafkaUp(kafkaAvailable());
        });
    health.checkEvery(config.healthInterval());
  }

  private void startHttp(ApiKeys keys, ChatRequestMapper mapper) {
    HttpApi api = new HttpApi(vertx, config, keys, mapper, exchanges, publisher, this, metrics);
    deploy(
        "the gateway",
        config.host(),
        config.port(),
        config.eventLoops(),
        options -> new HttpVerticle(options, api::serveApi, port));
    if (config.separateManagement()) {
      deploy(
          "the management listener",
          config.managementHost(),
          config.managementPort(),
          1,
          options ->
              new HttpVerticle(
                  // Only quick answers here: a plain idle timeout is right.
                  options
                      .setIdleTimeout((int) config.idleTimeout().toMillis())
                      .setIdleTimeoutUnit(TimeUnit.MILLISECONDS),
                  api::serveManagement,
                  managementPort));
    }
  }

  private void deploy(
      String what,
      String host,
      int listenPort,
      int instances,
      Function<HttpServerOptions, HttpVerticle> verticle) {
    try {
      vertx
          .deployVerticle(
              () ->
                  verticle.apply(
                      new HttpServerOptions()
                          .setHost(host)
                          // A negative port makes Vert.x pick one free port and share it among
                          // the instances (and only them: one listener deploys negative ports).
                          .setPort(listenPort == 0 && instances > 1 ? -1 : listenPort)
                          .setTcpNoDelay(true)
                          // HTTP/1.1 only: OpenAI clients speak it without TLS, and without the
                          // wait for an HTTP/2 preface a connection exists (and is watched by
                          // ConnectionGuard) from its first moment.
                          .setHttp2ClearTextEnabled(false)),
              new DeploymentOptions().setInstances(instances))
          .toCompletionStage()
          .toCompletableFuture()
          .get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting " + what, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          what + " cannot listen on " + host + ":" + listenPort + ": " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /** One HTTP server on the event loop this verticle instance is deployed to. */
  private final class HttpVerticle extends VerticleBase {
    private final HttpServerOptions options;
    private final Function<HttpServer, HttpServer> setUp;
    private final AtomicInteger boundPort;

    HttpVerticle(
        HttpServerOptions options,
        Function<HttpServer, HttpServer> setUp,
        AtomicInteger boundPort) {
      this.options = options;
      this.setUp = setUp;
      this.boundPort = boundPort;
    }

    @Override
    public Future<?> start() {
      return setUp
          .apply(vertx.createHttpServer(options))
          .listen()
          .onSuccess(server -> boundPort.set(server.actualPort()));
    }
  }

  /** The pieces consumer failed: the answers open now may miss pieces, so they fail. */
  private void answersLost() {
    metrics.consumerFailed();
    List<Exchange> open = exchanges.snapshot();
    if (!open.isEmpty()) {
      LOG.warn("Failing {} open request(s): their answers may have lost pieces", open.size());
    }
    for (Exchange exchange : open) {
      exchange.execute(exchange::onAnswerLost);
    }
  }

  @Override
  public boolean kafkaAvailable() {
    return health.available() && listener.positioned() && publisher.ready();
  }

  @Override
  public boolean shuttingDown() {
    return shuttingDown.get();
  }

  public int port() {
    return port.get();
  }

  /** {@code http://HOST:PORT}; OpenAI clients take {@code baseUrl() + "/v1"}. */
  public String baseUrl() {
    return url(config.host(), port());
  }

  /** Where /health and /metrics are served: {@link #baseUrl()} unless they have a port. */
  public String managementBaseUrl() {
    return config.separateManagement()
        ? url(config.managementHost(), managementPort.get())
        : baseUrl();
  }

  private static String url(String host, int port) {
    if (host.equals("0.0.0.0") || host.equals("::")) {
      host = "127.0.0.1";
    }
    return "http://" + host + ":" + port;
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** Open exchanges: requests waiting for, streaming or finishing writing their answer. */
  public int openExchanges() {
    return exchanges.size();
  }

  /** Drains and stops, waiting up to the configured {@code --shutdown-grace}. */
  public void shutdown() {
    shutdown(config.shutdownGrace());
  }

  /**
   * Drains and stops: {@code /health} answers 503 and new requests get 503 at once (so a load
   * balancer sends them elsewhere), the open exchanges get up to {@code grace} to finish, those
   * still open then end with an error, and then the consumer, the producer and Vert.x are closed.
   */
  public void shutdown(Duration grace) {
    if (!shuttingDown.compareAndSet(false, true)) {
      return;
    }
    int open = exchanges.size();
    LOG.info("Shutting down: waiting up to {} for {} open request(s)", grace, open);
    if (!awaitNoExchanges(grace)) {
      List<Exchange> left = exchanges.snapshot();
      LOG.warn("{} request(s) still open after {}; ending them", left.size(), grace);
      for (Exchange exchange : left) {
        exchange.execute(exchange::onShutdown);
      }
      awaitNoExchanges(LAST_WORDS);
    }
    close();
  }

  private boolean awaitNoExchanges(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (exchanges.size() > 0) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /** Stops everything at once, in order: the Kafka clients, then the HTTP servers. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    shuttingDown.set(true);
    listener.close();
    publisher.close();
    health.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("Closing Vert.x failed", e);
    }
  }
}
