package dev.streamrag.mcptools;

import dev.streamrag.corpus.DemoCorpus;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema.ServerCapabilities;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;

/**
 * The demo MCP server: the {@link ToolCatalog tools} over one generated {@link DemoCorpus}, served
 * with MCP's Streamable HTTP transport at {@link #endpoint()} by an embedded Tomcat, on 127.0.0.1
 * only. Start it with {@link #builder()}; {@link #close()} stops it.
 *
 * <p>Requests whose Host or Origin header names anything but this machine are refused (403/421): a
 * web page the user visits must not reach a local server through DNS rebinding.
 *
 * <p>Every {@code tools/call} of a served tool is recorded in {@link #callLog()}, with the
 * idempotency key a client may send in the request's {@code _meta} under {@link
 * #IDEMPOTENCY_KEY_META}. A call whose key was already answered successfully gets the remembered
 * result, and the tool does not run again. With {@link Builder#drillTools(boolean)} the server also
 * serves tools that misbehave on purpose, for failure drills ({@code DrillTools}).
 */
public final class McpToolsServer implements AutoCloseable {
  /** The only address it listens on. */
  public static final String HOST = "127.0.0.1";

  /** Path of the MCP endpoint. */
  public static final String ENDPOINT_PATH = "/mcp";

  /**
   * The key of a {@code tools/call} request's {@code _meta} entry that names the call for
   * idempotency, e.g. {@code "req-1:2:0"} (request id, agent step, call within the step).
   */
  public static final String IDEMPOTENCY_KEY_META = "dev.streamrag/idempotency-key";

  /** Most calls {@link #callLog()} keeps; older ones are dropped first. */
  public static final int CALL_LOG_CAPACITY = 100_000;

  /** Most idempotency keys whose results are remembered; the least recently used go first. */
  public static final int REMEMBERED_RESULTS_CAPACITY = 10_000;

  /** How long {@code drill_sleep} sleeps unless {@link Builder#drillSleep(Duration)} says. */
  public static final Duration DEFAULT_DRILL_SLEEP = Duration.ofSeconds(30);

  static final String SERVER_NAME = "streamrag-mcp-tools";
  static final String SERVER_VERSION = "0.1.0";

  /** How long {@link #close()} waits for calls being answered before it ends the sessions. */
  static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

  // Tool calls are a few hundred bytes; nothing legitimate comes near this.
  private static final int MAX_REQUEST_BYTES = 1 << 20;

  private static final String INSTRUCTIONS =
      "Tools over the streamrag demo corpus of invented entities (rivers, companies, scientists,"
          + " space probes, cities): no model knows these facts, so look them up. For a question"
          + " about two entities, call lookup_entity for each, then compute with the bare numbers"
          + " from their facts, and give the result with the facts' unit.";

  private final Tomcat tomcat;
  private final McpSyncServer mcpServer;
  private final HttpServletStreamableServerTransportProvider transport;
  private final Path baseDir;
  private final int port;
  private final ToolCallJournal journal;
  private final CountDownLatch closing;
  private final InFlightRequests inFlight;
  private final AtomicBoolean closed = new AtomicBoolean();

  private McpToolsServer(
      Tomcat tomcat,
      McpSyncServer mcpServer,
      HttpServletStreamableServerTransportProvider transport,
      Path baseDir,
      int port,
      ToolCallJournal journal,
      CountDownLatch closing,
      InFlightRequests inFlight) {
    this.tomcat = tomcat;
    this.mcpServer = mcpServer;
    this.transport = transport;
    this.baseDir = baseDir;
    this.port = port;
    this.journal = journal;
    this.closing = closing;
    this.inFlight = inFlight;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code http://127.0.0.1:PORT}. */
  public String baseUrl() {
    return "http://" + HOST + ":" + port;
  }

  /** The MCP endpoint clients connect to, {@code http://127.0.0.1:PORT/mcp}. */
  public String endpoint() {
    return baseUrl() + ENDPOINT_PATH;
  }

  public int port() {
    return port;
  }

  /**
   * The {@code tools/call} requests received so far, oldest first: an immutable snapshot. Each is
   * recorded when it arrives, before its tool runs, including calls whose arguments the tool's
   * schema refuses and calls answered from a remembered result ({@link ToolCallRecord#replayed()}).
   * Calls of a tool the server does not serve are protocol errors and not recorded.
   *
   * <p>Bounded: only the newest {@link #CALL_LOG_CAPACITY} calls are kept, so a long-running server
   * does not grow without end. Each call is also logged at DEBUG by {@code ToolCallJournal}.
   */
  public List<ToolCallRecord> callLog() {
    return journal.snapshot();
  }

  /**
   * Ends the sessions, stops Tomcat and removes its scratch directory; once is enough. Calls being
   * answered get up to {@link #CLOSE_GRACE} to finish first; a {@code drill_sleep} still sleeping
   * wakes and answers an error.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closing.countDown();
    try {
      inFlight.awaitIdle(CLOSE_GRACE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      mcpServer.closeGracefully();
    } finally {
      try {
        transport.destroy();
        tomcat.stop();
        tomcat.destroy();
      } catch (LifecycleException e) {
        throw new IllegalStateException("Tomcat did not stop cleanly", e);
      } finally {
        deleteRecursively(baseDir);
      }
    }
  }

  private static McpToolsServer start(
      int port,
      long corpusSeed,
      int corpusDocuments,
      List<String> tenants,
      boolean drillTools,
      Duration drillSleep) {
    EntityTools entities =
        new EntityTools(DemoCorpus.generate(corpusSeed, corpusDocuments, tenants).entities());
    McpJsonMapper json = McpJsonDefaults.getMapper();
    CountDownLatch closing = new CountDownLatch(1);
    List<SyncToolSpecification> tools = new ArrayList<>(ToolCatalog.tools(entities, json));
    if (drillTools) {
      tools.addAll(DrillTools.tools(drillSleep, closing));
    }
    ToolCallJournal journal =
        new ToolCallJournal(
            CALL_LOG_CAPACITY,
            REMEMBERED_RESULTS_CAPACITY,
            McpJsonDefaults.getSchemaValidator(),
            Clock.systemUTC());
    HttpServletStreamableServerTransportProvider transport =
        HttpServletStreamableServerTransportProvider.builder()
            .jsonMapper(json)
            .mcpEndpoint(ENDPOINT_PATH)
            .maxRequestSize(MAX_REQUEST_BYTES)
            // No session sweeper: SDK 2.1.0 runs it on a scheduler of its own that no close
            // disposes, a non-daemon thread that kept every JVM that started this server (the
            // local stack, the benchmarks) from exiting. Clients end their sessions on close.
            .sessionSweepInterval(null)
            .httpHeaderValidator(
                DefaultServerTransportSecurityValidator.builder()
                    .allowedHost(HOST + ":*")
                    .allowedHost("localhost:*")
                    .allowedOrigin("http://" + HOST + ":*")
                    .allowedOrigin("http://localhost:*")
                    .build())
            .build();
    McpSyncServer mcpServer =
        McpServer.sync(transport)
            .serverInfo(SERVER_NAME, SERVER_VERSION)
            .instructions(INSTRUCTIONS)
            .capabilities(ServerCapabilities.builder().tools(false).build())
            .tools(journal.journaled(tools))
            // The journal checks arguments against the schema after recording the call; the SDK
            // would refuse them before any handler, unrecorded.
            .validateToolInputs(false)
            // The tools take microseconds of CPU: they run on Tomcat's request thread (one per
            // request, 200 at most) rather than hop to Reactor's shared boundedElastic pool. So
            // does drill_sleep, which blocks only its own request's thread.
            .immediateExecution(true)
            .build();

    InFlightRequests inFlight = new InFlightRequests();
    Path baseDir = createBaseDir();
    Tomcat tomcat = new Tomcat();
    try {
      tomcat.setBaseDir(baseDir.toString());
      Connector connector = new Connector();
      connector.setPort(port);
      connector.setProperty("address", HOST);
      // Without this Tomcat logs a port it cannot bind and starts without listening.
      connector.setThrowOnFailure(true);
      tomcat.setConnector(connector);
      StandardContext context = (StandardContext) tomcat.addContext("", baseDir.toString());
      // Tomcat's leak checks are for web apps redeployed in a long-lived container; one
      // embedded servlet has no redeploys, and without --add-opens they only print warnings.
      context.setClearReferencesThreadLocals(false);
      context.setClearReferencesRmiTargets(false);
      Wrapper servlet = Tomcat.addServlet(context, "mcp", transport);
      FilterDef inFlightDef = new FilterDef();
      inFlightDef.setFilterName("in-flight");
      inFlightDef.setFilter(inFlight);
      inFlightDef.setAsyncSupported("true");
      context.addFilterDef(inFlightDef);
      FilterMap inFlightMap = new FilterMap();
      inFlightMap.setFilterName("in-flight");
      inFlightMap.addServletName("mcp");
      context.addFilterMap(inFlightMap);
      // The transport may answer after doPost returns (SSE streams): it needs async support.
      servlet.setAsyncSupported(true);
      context.addServletMapping(ENDPOINT_PATH, "mcp");
      tomcat.start();
      if (connector.getState() != LifecycleState.STARTED || connector.getLocalPort() <= 0) {
        throw new LifecycleException("the connector did not start");
      }
      return new McpToolsServer(
          tomcat,
          mcpServer,
          transport,
          baseDir,
          connector.getLocalPort(),
          journal,
          closing,
          inFlight);
    } catch (LifecycleException | RuntimeException e) {
      mcpServer.close();
      try {
        tomcat.stop();
        tomcat.destroy();
      } catch (LifecycleException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      deleteRecursively(baseDir);
      throw new IllegalStateException(
          "cannot serve on " + HOST + ":" + port + ": " + rootCause(e).getMessage(), e);
    }
  }

  private static Throwable rootCause(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** Tomcat's work directory: scratch, removed again on close. */
  private static Path createBaseDir() {
    try {
      return Files.createTempDirectory("streamrag-mcp-tools-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException ignored) {
      // Only a temporary directory is left behind.
    }
  }

  /** What to serve and where; {@link #start()} validates and starts. */
  public static final class Builder {
    private int port = 0;
    private long corpusSeed = 42;
    private int corpusDocuments = 200;
    private List<String> tenants = List.of("acme", "globex");
    private boolean drillTools = false;
    private Duration drillSleep = DEFAULT_DRILL_SLEEP;

    private Builder() {}

    /** Port on 127.0.0.1; 0 (the default) picks a free one, see {@link #port()}. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** Seed of the demo corpus (default 42). */
    public Builder corpusSeed(long corpusSeed) {
      this.corpusSeed = corpusSeed;
      return this;
    }

    /** Articles, so entities, in the demo corpus (default 200). */
    public Builder corpusDocuments(int corpusDocuments) {
      this.corpusDocuments = corpusDocuments;
      return this;
    }

    /** Tenants the corpus's documents are dealt to (default acme, globex). */
    public Builder tenants(List<String> tenants) {
      this.tenants = List.copyOf(Objects.requireNonNull(tenants, "tenants"));
      return this;
    }

    /**
     * Whether to serve the drill tools as well (default false): {@code drill_sleep}, which answers
     * after {@link #drillSleep(Duration)}; {@code drill_garbage}, which answers two million
     * characters that are not JSON; {@code drill_strict}, which requires a string {@code query} and
     * an integer {@code count}. For failure drills only: they make a model's agent loop fail.
     */
    public Builder drillTools(boolean drillTools) {
      this.drillTools = drillTools;
      return this;
    }

    /** How long {@code drill_sleep} sleeps (default {@link #DEFAULT_DRILL_SLEEP}, 30 s). */
    public Builder drillSleep(Duration drillSleep) {
      this.drillSleep = Objects.requireNonNull(drillSleep, "drillSleep");
      return this;
    }

    /**
     * Starts the server.
     *
     * @throws IllegalArgumentException for a setting out of range
     * @throws IllegalStateException when it cannot listen (e.g. the port is taken)
     */
    public McpToolsServer start() {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be 0..65535, got " + port);
      }
      if (corpusDocuments < 0) {
        throw new IllegalArgumentException(
            "corpus documents must not be negative, got " + corpusDocuments);
      }
      if (tenants.isEmpty() || tenants.stream().anyMatch(t -> t == null || t.isBlank())) {
        throw new IllegalArgumentException("at least one tenant, none blank, is needed");
      }
      if (drillSleep.isNegative()) {
        throw new IllegalArgumentException("drill sleep must not be negative, got " + drillSleep);
      }
      return McpToolsServer.start(
          port, corpusSeed, corpusDocuments, tenants, drillTools, drillSleep);
    }
  }
}
