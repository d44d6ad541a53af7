package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.RealTimeEngineDriver;
import dev.streamrag.llmsim.engine.SequenceRequest;
import dev.streamrag.llmsim.engine.TokenEvent;
import dev.streamrag.llmsim.text.AnswerComposer;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The simulator's HTTP server: vLLM's OpenAI-compatible API on Vert.x event loops. A completion
 * becomes a request to the {@link RealTimeEngineDriver}; each token the engine emits is written to
 * the client on its connection's event loop (as an SSE chunk when streaming), so no thread waits
 * per stream.
 *
 * <p>One HTTP server instance runs per event loop, all sharing the port, so parsing requests and
 * writing hundreds of streams' chunks is spread over the cores instead of queueing on one thread
 * and delaying tokens past their modelled times.
 *
 * <p>Two settings guard it, as vLLM is guarded: with an API key, {@code /v1/*} answers 401 to a
 * request without {@code Authorization: Bearer KEY} ({@code /health} and {@code /metrics} stay
 * open, as in vLLM); and the {@code /admin/*} endpoints, which change the fault plan, exist only
 * when turned on (and then need the key too, if there is one). Start one with {@link #builder}.
 */
public final class SimServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String UNAUTHORIZED = "{\"error\":\"Unauthorized\"}";

  private final Vertx vertx;
  private final long maxBodyBytes;
  private final HttpServerOptions serverOptions;
  private final boolean adminEndpoints;
  // Null when no API key is set: then nothing is checked.
  private final BearerAuth auth;

  /** The default address: only this machine's clients reach it. */
  public static final String LOOPBACK = "127.0.0.1";

  /** The default request body limit (8 MiB). */
  public static final long DEFAULT_MAX_BODY_BYTES = 8L << 20;

  private final AtomicInteger actualPort = new AtomicInteger();
  private volatile CompletionTimeline.Observer observer;
  private final RealTimeEngineDriver driver;
  private final String servedModel;
  private final CompletionRequestParser parser;
  private final ServerMetrics metrics;
  private final AtomicReference<FaultPlan> faults;
  // What is left of the plan's next503 burst; counted down by requests as they arrive.
  private final AtomicInteger pending503 = new AtomicInteger();

  private SimServer(Builder settings) {
    this.vertx = Vertx.vertx();
    this.faults = new AtomicReference<>();
    installFaults(settings.faults);
    this.driver = new RealTimeEngineDriver(settings.profile);
    this.servedModel = settings.servedModel;
    this.maxBodyBytes = settings.maxBodyBytes;
    this.adminEndpoints = settings.adminEndpoints;
    this.auth = settings.apiKey == null ? null : BearerAuth.of(settings.apiKey);
    this.parser = new CompletionRequestParser(servedModel, settings.profile);
    this.metrics = new ServerMetrics(servedModel, driver);
    // A negative port makes Vert.x pick one random port and share it among the instances.
    this.serverOptions =
        new HttpServerOptions()
            .setHost(settings.host)
            .setPort(settings.port == 0 ? -1 : settings.port)
            .setTcpNoDelay(true);
  }

  /** The API's routes for one event loop; its completions' tokens go through {@code dispatcher}. */
  private Router router(TokenDispatcher dispatcher) {
    Router router = Router.router(vertx);
    // Before the body is read, so a request without the key costs no buffering. The routes match
    // the path as the handlers below see it (normalized), so no spelling of it slips past.
    if (auth != null) {
      router.route("/v1/*").handler(this::requireKey);
      if (adminEndpoints) {
        router.route("/admin/*").handler(this::requireKey);
      }
    }
    router.route().handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes));
    router.post("/v1/chat/completions").handler(ctx -> complete(ctx, true, dispatcher));
    router.post("/v1/completions").handler(ctx -> complete(ctx, false, dispatcher));
    router.get("/v1/models").handler(this::models);
    router.get("/health").handler(ctx -> ctx.response().setStatusCode(200).end());
    // Off by default: anyone who reaches the port could otherwise make every request fail. Without
    // them, /admin/* is an unknown route (404 below).
    if (adminEndpoints) {
      router.get("/admin/faults").handler(ctx -> sendFaults(ctx));
      router.put("/admin/faults").handler(this::replaceFaults);
      router
          .delete("/admin/faults")
          .handler(
              ctx -> {
                installFaults(FaultPlan.NONE);
                sendFaults(ctx);
              });
    }
    router
        .get("/metrics")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
                    .end(metrics.render()));
    router.errorHandler(
        413,
        ctx ->
            sendError(
                ctx.response(),
                new ApiError(
                    413,
                    "RequestEntityTooLarge",
                    "request body is larger than " + maxBodyBytes + " bytes")));
    router.errorHandler(
        404,
        ctx ->
            sendError(
                ctx.response(),
                new ApiError(404, "NotFoundError", "no route " + ctx.request().path())));
    router.errorHandler(
        405,
        ctx ->
            sendError(ctx.response(), new ApiError(405, "MethodNotAllowed", "method not allowed")));
    router.errorHandler(
        500,
        ctx ->
            sendError(
                ctx.response(),
                new ApiError(500, "InternalServerError", String.valueOf(ctx.failure()))));
    return router;
  }

  /** One HTTP server on the event loop this verticle instance is deployed to. */
  private final class HttpVerticle extends VerticleBase {
    @Override
    public Future<?> start() {
      // One dispatcher per event loop, made from the verticle's own context: a request handler's
      // context is a per-request duplicate, which must not be kept beyond its request.
      return vertx
          .createHttpServer(serverOptions)
          .requestHandler(router(new TokenDispatcher(context)))
          .listen()
          .onSuccess(server -> actualPort.set(server.actualPort()));
    }
  }

  /**
   * Settings for a server serving {@code servedModel} (vLLM's --served-model-name, the model name
   * clients must send) with {@code profile}'s latency; {@link Builder#start()} starts it.
   */
  public static Builder builder(EngineProfile profile, String servedModel) {
    return new Builder(profile, servedModel);
  }

  /**
   * Starts a server on 127.0.0.1:{@code port} (0 picks a free port), without admin endpoints or an
   * API key.
   *
   * @param servedModel the model name clients must send (vLLM's --served-model-name)
   * @param maxBodyBytes larger request bodies are refused with 413
   */
  public static SimServer start(
      EngineProfile profile, String servedModel, int port, long maxBodyBytes) {
    return builder(profile, servedModel).port(port).maxBodyBytes(maxBodyBytes).start();
  }

  /**
   * As {@link #start(EngineProfile, String, int, long)}, injecting {@code faults} from the start.
   */
  public static SimServer start(
      EngineProfile profile, String servedModel, int port, long maxBodyBytes, FaultPlan faults) {
    return builder(profile, servedModel)
        .port(port)
        .maxBodyBytes(maxBodyBytes)
        .faults(faults)
        .start();
  }

  /** One event loop per core, as Vert.x sizes its pool, at least one. */
  public static int defaultEventLoops() {
    return Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  /**
   * As {@link #start(EngineProfile, String, int, long, FaultPlan)} with {@code eventLoops} HTTP
   * server instances sharing the port.
   */
  public static SimServer start(
      EngineProfile profile,
      String servedModel,
      int port,
      long maxBodyBytes,
      FaultPlan faults,
      int eventLoops) {
    return builder(profile, servedModel)
        .port(port)
        .maxBodyBytes(maxBodyBytes)
        .faults(faults)
        .eventLoops(eventLoops)
        .start();
  }

  /**
   * A server's settings. The defaults: 127.0.0.1, a free port, {@link #DEFAULT_MAX_BODY_BYTES}, no
   * faults, one event loop per core, no admin endpoints, no API key.
   */
  public static final class Builder {
    private final EngineProfile profile;
    private final String servedModel;
    private String host = LOOPBACK;
    private int port;
    private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
    private FaultPlan faults = FaultPlan.NONE;
    private int eventLoops = defaultEventLoops();
    private boolean adminEndpoints;
    private String apiKey;

    private Builder(EngineProfile profile, String servedModel) {
      this.profile = Objects.requireNonNull(profile, "profile");
      this.servedModel = Objects.requireNonNull(servedModel, "servedModel");
    }

    /** The address to listen on: {@code 0.0.0.0} in a container, where clients are elsewhere. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** The port; 0 picks a free one ({@link SimServer#port()} tells which). */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Larger request bodies are refused with 413. */
    public Builder maxBodyBytes(long maxBodyBytes) {
      this.maxBodyBytes = maxBodyBytes;
      return this;
    }

    /** The fault plan in force from the start. */
    public Builder faults(FaultPlan faults) {
      this.faults = Objects.requireNonNull(faults, "faults");
      return this;
    }

    /** How many HTTP server instances (one per event loop) share the port. */
    public Builder eventLoops(int eventLoops) {
      this.eventLoops = eventLoops;
      return this;
    }

    /** Whether {@code /admin/faults} (read, replace, clear the fault plan) is served. */
    public Builder adminEndpoints(boolean adminEndpoints) {
      this.adminEndpoints = adminEndpoints;
      return this;
    }

    /**
     * The key {@code /v1/*} (and {@code /admin/*}) requests must send as {@code Authorization:
     * Bearer KEY}, as vLLM's --api-key; null for none. Only its digest is kept.
     */
    public Builder apiKey(String apiKey) {
      if (apiKey != null && apiKey.isEmpty()) {
        throw new IllegalArgumentException("the API key is empty; give null for none");
      }
      this.apiKey = apiKey;
      return this;
    }

    /** Starts the server; fails if it cannot listen. */
    public SimServer start() {
      if (eventLoops < 1) {
        throw new IllegalArgumentException("eventLoops must be at least 1, got " + eventLoops);
      }
      SimServer sim = new SimServer(this);
      try {
        sim.vertx
            .deployVerticle(
                () -> sim.new HttpVerticle(), new DeploymentOptions().setInstances(eventLoops))
            .toCompletionStage()
            .toCompletableFuture()
            .get();
        return sim;
      } catch (InterruptedException e) {
        sim.close();
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting llm-sim", e);
      } catch (ExecutionException e) {
        sim.close();
        throw new IllegalStateException(
            "llm-sim cannot listen on " + host + ":" + port + ": " + e.getCause().getMessage(),
            e.getCause());
      }
    }
  }

  public int port() {
    return actualPort.get();
  }

  /** {@code http://127.0.0.1:PORT/v1}, what OpenAI clients take as base URL. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  public RealTimeEngineDriver driver() {
    return driver;
  }

  /** Whether {@code /admin/*} is served. */
  public boolean adminEndpoints() {
    return adminEndpoints;
  }

  /** Whether requests to {@code /v1/*} must carry the API key. */
  public boolean requiresApiKey() {
    return auth != null;
  }

  /** Receives the timeline of every completion that finishes from now on; null stops it. */
  public void observeCompletions(CompletionTimeline.Observer observer) {
    this.observer = observer;
  }

  /**
   * Lets a request with the key through; answers others 401 with vLLM's body, {@code
   * {"error":"Unauthorized"}} (not the OpenAI error object its other errors use).
   */
  private void requireKey(RoutingContext ctx) {
    if (auth.admits(ctx.request().getHeader(HttpHeaders.AUTHORIZATION))) {
      ctx.next();
      return;
    }
    ctx.response()
        .setStatusCode(401)
        .putHeader("content-type", "application/json")
        .end(UNAUTHORIZED);
  }

  private void complete(RoutingContext ctx, boolean chat, TokenDispatcher dispatcher) {
    long arrivedNanos = System.nanoTime();
    HttpServerResponse response = ctx.response();
    CompletionRequest request;
    try {
      JsonNode body;
      try {
        body = JSON.readTree(ctx.body().asString());
      } catch (IOException | RuntimeException e) {
        throw ApiError.badRequest("invalid JSON in request body: " + firstLine(e.getMessage()));
      }
      request = parser.parse(body, chat);
    } catch (ApiError error) {
      sendError(response, error);
      return;
    }

    FaultPlan plan = faults.get();
    ThreadLocalRandom random = ThreadLocalRandom.current();
    // An injected HTTP error answers at once, so it takes precedence over the faults below; those
    // are drawn independently of each other (a repeated tool call may also stall or drop).
    ApiError injected =
        pending503.getAndUpdate(left -> Math.max(0, left - 1)) > 0
            ? overloaded()
            : drawError(plan, random.nextDouble());
    if (injected != null) {
      metrics.injectedFaults(injected.status()).increment();
      if (plan.retryAfterSeconds() > 0 && (injected.status() == 429 || injected.status() == 503)) {
        response.putHeader("Retry-After", String.valueOf(plan.retryAfterSeconds()));
      }
      sendError(response, injected);
      return;
    }
    // Drawn only for a request that qualifies (after a tool result): its share is of those.
    if (request.repeatableCall() != null && random.nextDouble() < plan.toolRepeat()) {
      request = request.repeatingToolCall();
      metrics.injectedToolRepeats.increment();
    }
    boolean stall = random.nextDouble() < plan.stallProbability();
    boolean drop = random.nextDouble() < plan.dropProbability();

    String text;
    String finishReason;
    if (request.toolCall() != null) {
      // A tool call streams its arguments token by token, as a model generates them.
      text = request.toolCall().arguments();
      finishReason = "tool_calls";
    } else {
      String answer =
          request.plannedAnswer() != null
              ? request.plannedAnswer()
              : AnswerComposer.answer(request.contextTexts(), request.question());
      answer = AnswerComposer.padToTokens(answer, request.minTokens(), request.seed());
      text = AnswerComposer.truncateToTokens(answer, request.maxTokens());
      finishReason = text.length() < answer.length() ? "length" : "stop";
    }
    List<String> slices = TokenSlices.of(text);
    String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    long created = System.currentTimeMillis() / 1000;
    CompletionWriter writer =
        new CompletionWriter(
            response,
            request,
            id,
            created,
            slices,
            text,
            finishReason,
            metrics,
            arrivedNanos,
            vertx,
            stall ? plan.stallMillis() : 0,
            drop,
            observer);
    // As vLLM does, a request whose client disconnects is aborted: it stops taking a place in
    // the batch and KV cache, which matters when callers time out under overload.
    response.closeHandler(
        closed -> {
          if (writer.abandonedByClient()) {
            metrics.abortedByClient.increment();
            driver.cancel(id);
          }
        });
    if (request.stream()) {
      writer.beginStream();
    }
    metrics.promptTokens.add(request.promptTokens().length);
    SequenceRequest sequence = new SequenceRequest(id, request.promptTokens(), slices.size());
    Runnable submit =
        () -> {
          try {
            writer.submitted();
            driver.submit(
                sequence,
                (TokenEvent event) -> {
                  if (event.index() == 0) {
                    writer.firstTokenEmitted(System.nanoTime());
                  }
                  dispatcher.dispatch(() -> writer.onToken(event));
                });
          } catch (IllegalArgumentException e) {
            sendError(response, ApiError.badRequest(e.getMessage()));
          }
        };
    if (plan.firstTokenDelayMillis() > 0) {
      vertx.setTimer(plan.firstTokenDelayMillis(), timer -> submit.run());
    } else {
      submit.run();
    }
  }

  private static ApiError overloaded() {
    return new ApiError(503, "ServiceUnavailableError", "injected fault: overloaded");
  }

  /** The injected HTTP error for a uniform draw in [0, 1), or null for none. */
  private static ApiError drawError(FaultPlan plan, double draw) {
    if (draw < plan.rate429()) {
      return new ApiError(429, "RateLimitError", "injected fault: too many requests");
    }
    if (draw < plan.rate429() + plan.rate500()) {
      return new ApiError(500, "InternalServerError", "injected fault: internal error");
    }
    if (draw < plan.rate429() + plan.rate500() + plan.rate503()) {
      return overloaded();
    }
    return null;
  }

  private void installFaults(FaultPlan plan) {
    faults.set(plan);
    pending503.set(plan.next503());
  }

  /** The plan in force; {@code next503} is what is left of the burst, so it can be PUT back. */
  private void sendFaults(RoutingContext ctx) {
    ctx.response()
        .putHeader("content-type", "application/json")
        .end(faults.get().toJson().put("next503", pending503.get()).toString());
  }

  private void replaceFaults(RoutingContext ctx) {
    try {
      installFaults(FaultPlan.fromJson(JSON.readTree(ctx.body().asString())));
      sendFaults(ctx);
    } catch (IOException | RuntimeException e) {
      sendError(ctx.response(), ApiError.badRequest("invalid fault plan: " + e.getMessage()));
    }
  }

  private void models(RoutingContext ctx) {
    ObjectNode model = JSON.createObjectNode();
    model.put("id", servedModel);
    model.put("object", "model");
    model.put("created", System.currentTimeMillis() / 1000);
    model.put("owned_by", "vllm");
    model.put("root", servedModel);
    model.put("max_model_len", driver.profile().contextWindow());
    ObjectNode list = JSON.createObjectNode();
    list.put("object", "list");
    ArrayNode data = list.putArray("data");
    data.add(model);
    ctx.response().putHeader("content-type", "application/json").end(list.toString());
  }

  static void sendError(HttpServerResponse response, ApiError error) {
    if (response.ended() || response.closed()) {
      return;
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("object", "error");
    body.put("message", error.getMessage());
    body.put("type", error.type());
    body.putNull("param");
    body.put("code", error.status());
    response
        .setStatusCode(error.status())
        .putHeader("content-type", "application/json")
        .end(body.toString());
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  @Override
  public void close() {
    driver.close();
    try {
      // Closing Vert.x undeploys the verticles, which closes their servers.
      vertx.close().toCompletionStage().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // closing anyway
    }
  }
}
