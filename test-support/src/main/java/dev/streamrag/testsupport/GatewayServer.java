package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenAI-compatible gateway (module {@code gateway}) as a child process: its own JVM, as in
 * production, and the only way to run it next to Flink, whose Netty 4.1 must not meet the gateway's
 * Vert.x (Netty 4.2) in one JVM. It listens on a free port of 127.0.0.1, reads one reply partition
 * of the pieces topic, and takes its API keys from a file in its folder readable by its owner only
 * (never from the command line, where {@code ps} would show them). The gateway refuses keys shorter
 * than {@value #MIN_KEY_CHARS} characters; so does {@link Builder#start()}, before starting it.
 *
 * <p>{@link #close()} stops it as an orchestrator would, with SIGTERM: the gateway drains (its open
 * requests get {@link Builder#shutdownGrace} to finish) before it exits.
 *
 * <p>The module using this fixture must have the gateway on its classpath, with none of its
 * dependencies: {@code streamrag-gateway} with an exclusion of {@code *:*}, as test-support does
 * with llm-sim. The gateway's jar holds the runtime classpath its build recorded.
 */
public final class GatewayServer extends ManagedServer {
  private static final String CLASSPATH_RESOURCE = "streamrag/gateway.classpath";
  private static final String MAIN = "dev.streamrag.gateway.GatewayMain";

  /** The gateway's minimum API key length. */
  public static final int MIN_KEY_CHARS = 16;

  /** The gateway's default --shutdown-grace. */
  private static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(20);

  private static final Pattern LISTENING = Pattern.compile("gateway listening on (http://\\S+)");
  private static final Pattern MANAGEMENT = Pattern.compile("management on (http://\\S+)");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final String baseUrl;
  private final String managementUrl;
  private final int replyPartition;

  private GatewayServer(
      String baseUrl, String managementUrl, int replyPartition, ServerProcess process) {
    super("gateway (reply partition " + replyPartition + ")", process);
    this.baseUrl = baseUrl;
    this.managementUrl = managementUrl;
    this.replyPartition = replyPartition;
  }

  /**
   * Starts a gateway on Kafka at {@code bootstrap}, reading {@code replyPartition} of the default
   * pieces topic, accepting {@code apiKeys} (key to tenant) and serving {@code models}.
   */
  public static GatewayServer start(
      Path baseDir,
      String bootstrap,
      int replyPartition,
      Map<String, String> apiKeys,
      List<String> models) {
    return builder(baseDir, bootstrap)
        .replyPartition(replyPartition)
        .apiKeys(apiKeys)
        .models(models)
        .start();
  }

  public static Builder builder(Path baseDir, String bootstrap) {
    return new Builder(baseDir, bootstrap);
  }

  /** {@code http://127.0.0.1:PORT}, without {@code /v1}. */
  public String baseUrl() {
    return baseUrl;
  }

  /**
   * Where {@code /health} and {@code /metrics} are: {@link #baseUrl()}, unless {@code
   * --management-port} was given in {@link Builder#extraArgs}.
   */
  public String managementUrl() {
    return managementUrl;
  }

  /** {@code http://127.0.0.1:PORT/v1}, what OpenAI clients take as their base URL. */
  public String openAiBaseUrl() {
    return baseUrl + "/v1";
  }

  public int replyPartition() {
    return replyPartition;
  }

  @Override
  protected String address() {
    return baseUrl;
  }

  /** Settings of one gateway; {@link #start()} checks them and starts it. */
  public static final class Builder {
    private final Path baseDir;
    private final String bootstrap;
    private int replyPartition;
    private final Map<String, String> apiKeys = new LinkedHashMap<>();
    private final List<String> models = new ArrayList<>();
    private String requestsTopic;
    private String piecesTopic;
    private String defaultKind;
    private Duration defaultTimeout;
    private Duration shutdownGrace;
    private final List<String> extraArgs = new ArrayList<>();
    private Duration startTimeout = Duration.ofSeconds(60);

    private Builder(Path baseDir, String bootstrap) {
      this.baseDir = Objects.requireNonNull(baseDir, "baseDir");
      this.bootstrap = Objects.requireNonNull(bootstrap, "bootstrap");
    }

    public Builder replyPartition(int replyPartition) {
      this.replyPartition = replyPartition;
      return this;
    }

    public Builder apiKey(String key, String tenant) {
      apiKeys.put(key, tenant);
      return this;
    }

    public Builder apiKeys(Map<String, String> keysToTenants) {
      apiKeys.putAll(keysToTenants);
      return this;
    }

    public Builder models(List<String> models) {
      this.models.addAll(models);
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

    /** CHAT or RAG: the kind of requests that do not name one. */
    public Builder defaultKind(String defaultKind) {
      this.defaultKind = defaultKind;
      return this;
    }

    public Builder defaultTimeout(Duration defaultTimeout) {
      this.defaultTimeout = defaultTimeout;
      return this;
    }

    /**
     * How long the gateway lets open requests finish when stopped (its {@code --shutdown-grace});
     * {@link #close()} waits that long plus 10 s before it kills the process.
     */
    public Builder shutdownGrace(Duration shutdownGrace) {
      this.shutdownGrace = Objects.requireNonNull(shutdownGrace, "shutdownGrace");
      return this;
    }

    /** Further command-line options, as {@code java -jar gateway.jar --help} lists them. */
    public Builder extraArgs(String... args) {
      extraArgs.addAll(List.of(args));
      return this;
    }

    public Builder startTimeout(Duration startTimeout) {
      this.startTimeout = Objects.requireNonNull(startTimeout, "startTimeout");
      return this;
    }

    /** Starts the gateway and waits until {@code /health} answers 200 (Kafka reached). */
    public GatewayServer start() {
      if (apiKeys.isEmpty()) {
        throw new IllegalArgumentException("a gateway needs at least one API key");
      }
      if (replyPartition < 0) {
        throw new IllegalArgumentException("replyPartition must not be negative");
      }
      apiKeys.forEach(
          (key, tenant) -> {
            if (key.length() < MIN_KEY_CHARS) {
              throw new IllegalArgumentException(
                  "the API key of tenant "
                      + tenant
                      + " is shorter than the gateway's minimum of "
                      + MIN_KEY_CHARS
                      + " characters");
            }
          });
      Path dir;
      try {
        Files.createDirectories(baseDir.toAbsolutePath());
        // Absolute: the server runs in its own folder, where a relative path would point elsewhere.
        dir =
            Files.createTempDirectory(baseDir.toAbsolutePath(), "gateway-p" + replyPartition + "-");
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create a folder under " + baseDir, e);
      }
      Path keysFile = writeKeys(dir);
      List<String> command =
          new ArrayList<>(
              List.of(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xms64m",
                  "-Xmx256m",
                  "-XX:+UseSerialGC",
                  "-cp",
                  classpath(),
                  MAIN,
                  "--bootstrap-servers=" + bootstrap,
                  "--reply-partition=" + replyPartition,
                  "--host=127.0.0.1",
                  "--port=0",
                  "--api-keys-file=" + keysFile));
      if (!models.isEmpty()) {
        command.add("--models=" + String.join(",", models));
      }
      if (requestsTopic != null) {
        command.add("--requests-topic=" + requestsTopic);
      }
      if (piecesTopic != null) {
        command.add("--pieces-topic=" + piecesTopic);
      }
      if (defaultKind != null) {
        command.add("--default-kind=" + defaultKind);
      }
      if (defaultTimeout != null) {
        command.add("--default-timeout=" + defaultTimeout.toMillis() + "ms");
      }
      if (shutdownGrace != null) {
        command.add("--shutdown-grace=" + shutdownGrace.toMillis() + "ms");
      }
      command.addAll(extraArgs);
      Duration stopGrace =
          (shutdownGrace == null ? DEFAULT_SHUTDOWN_GRACE : shutdownGrace)
              .plus(Duration.ofSeconds(10));
      ServerProcess process =
          ServerProcess.start(
              "gateway (reply partition " + replyPartition + ")",
              command,
              dir,
              dir.resolve("gateway.log"),
              Map.of(),
              stopGrace);
      String[] urls = new String[2];
      process.awaitReady(
          startTimeout,
          () -> {
            if (urls[0] == null) {
              String log = Files.readString(process.log());
              Matcher matcher = LISTENING.matcher(log);
              if (!matcher.find()) {
                return false;
              }
              urls[0] = matcher.group(1);
              Matcher management = MANAGEMENT.matcher(log);
              urls[1] = management.find() ? management.group(1) : urls[0];
            }
            return health(urls[1]) == 200;
          });
      return new GatewayServer(urls[0], urls[1], replyPartition, process);
    }

    private Path writeKeys(Path dir) {
      Path file = dir.resolve("api-keys.txt");
      StringBuilder lines = new StringBuilder("# <key> <tenant>, written by GatewayServer\n");
      apiKeys.forEach((key, tenant) -> lines.append(key).append(' ').append(tenant).append('\n'));
      try {
        try {
          // Owner-only from its creation: the gateway warns about a keys file others can read.
          Files.createFile(
              file,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
          // not a POSIX file system: the folder's own permissions apply
        }
        Files.writeString(file, lines);
        return file;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + file, e);
      }
    }
  }

  private static int health(String baseUrl) throws IOException, InterruptedException {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/health"))
                .timeout(Duration.ofSeconds(2))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** The gateway's classes plus the runtime classpath its build recorded. */
  private static String classpath() {
    return ChildClasspath.of(CLASSPATH_RESOURCE, MAIN, "streamrag-gateway");
  }
}
