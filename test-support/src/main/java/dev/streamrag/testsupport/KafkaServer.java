package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A real Kafka broker in KRaft mode (combined broker and controller, one node), run from the Kafka
 * jars on the package registry as a child process; or an external cluster named by {@code
 * STREAMRAG_KAFKA_BOOTSTRAP}.
 *
 * <p>Settings are those a single-node cluster needs for consumer groups and transactions to work
 * (replication factor 1 for internal topics), plus {@code transaction.max.timeout.ms} of one hour
 * so that Flink's transactional KafkaSink works with its defaults.
 */
public final class KafkaServer extends ManagedServer {
  public static final String BOOTSTRAP_SETTING = "streamrag.kafka.bootstrap";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final String bootstrapServers;
  private final List<String> serveCommand;
  private final Path dir;
  private final int port;
  private final Security security;
  private int restarts;

  /**
   * A secured broker's trust and users: the CA certificate clients trust (PEM), and each SCRAM
   * user's password. The user {@link #ADMIN} is the broker's own and a super user.
   */
  private record Security(TestTls tls, Map<String, String> passwords) {}

  /** The secured broker's super user (the broker itself uses it between its listeners). */
  public static final String ADMIN = "admin";

  private static final String SCRAM = "SCRAM-SHA-256";

  private KafkaServer(
      String bootstrapServers,
      ServerProcess process,
      List<String> serveCommand,
      Path dir,
      int port,
      Security security) {
    super("Kafka", process);
    this.bootstrapServers = bootstrapServers;
    this.serveCommand = serveCommand;
    this.dir = dir;
    this.port = port;
    this.security = security;
  }

  /** The external cluster if one is configured, else a new embedded broker under {@code dir}. */
  public static KafkaServer externalOrStart(Path dir) {
    return ServerSettings.get(BOOTSTRAP_SETTING)
        .map(bootstrap -> new KafkaServer(bootstrap, null, null, null, 0, null))
        .orElseGet(() -> start(dir));
  }

  public static KafkaServer start(Path baseDir) {
    return start(baseDir, List.of());
  }

  /**
   * A broker that only speaks SASL_SSL: TLS with a certificate made for this run (for 127.0.0.1),
   * SCRAM-SHA-256 logins for {@code users} and {@link #ADMIN} (random passwords, see {@link
   * #password}), and Kafka's standard authorizer with no ACLs, so a user may do nothing until
   * granted. The controller listener stays plaintext on loopback; its anonymous principal is a
   * super user because the broker talks to its own controller through it.
   */
  public static KafkaServer startSecure(Path baseDir, List<String> users) {
    List<String> all = new ArrayList<>(users);
    all.add(ADMIN);
    return start(baseDir, all);
  }

  private static KafkaServer start(Path baseDir, List<String> secureUsers) {
    boolean secure = !secureUsers.isEmpty();
    ServerDists dists = ServerDists.load();
    int[] ports = Ports.freePorts(2);
    int port = ports[0];
    int controllerPort = ports[1];
    // Absolute: the server runs in its own folder, where a relative path would point elsewhere.
    Path dir = baseDir.toAbsolutePath().resolve("kafka-" + port);
    try {
      Files.createDirectories(dir);
      Security security = secure ? secure(dir, secureUsers) : null;
      Path config = dir.resolve("server.properties");
      Files.writeString(config, serverProperties(dir, port, controllerPort, security));
      Path logConfig = dir.resolve("log4j2.properties");
      Files.writeString(logConfig, LOG_CONFIG);

      String classpath = dists.kafkaClasspath();
      List<String> java = javaCommand(classpath, logConfig, dir);
      List<String> format = new ArrayList<>(java);
      format.addAll(
          List.of(
              "kafka.tools.StorageTool",
              "format",
              "--cluster-id=" + clusterId(),
              "--config=" + config));
      if (security != null) {
        // SCRAM users of a KRaft cluster are written into its first metadata at format time.
        security
            .passwords()
            .forEach(
                (user, password) ->
                    format.add(
                        "--add-scram=" + SCRAM + "=[name=" + user + ",password=" + password + "]"));
      }
      runToCompletion(format, dir, dir.resolve("format.log"));

      List<String> serve = new ArrayList<>(java);
      serve.addAll(List.of("kafka.Kafka", config.toString()));
      ServerProcess process = serve(serve, dir, dir.resolve("kafka.log"), port);
      return new KafkaServer("127.0.0.1:" + port, process, serve, dir, port, security);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare Kafka in " + dir, e);
    }
  }

  private static ServerProcess serve(List<String> command, Path dir, Path log, int port) {
    ServerProcess process =
        ServerProcess.start(
            "Kafka on 127.0.0.1:" + port, command, dir, log, Map.of(), Duration.ofSeconds(20));
    process.awaitReady(
        START_TIMEOUT,
        () ->
            Ports.isListening(port)
                && Files.readString(process.log()).contains("Kafka Server started"));
    return process;
  }

  /**
   * Stops the embedded broker by PID (SIGTERM, as an operator's rolling restart would) and starts
   * it again on the same port and data: clients see the broker go away and come back with its
   * topics, committed offsets and transaction state.
   *
   * @param downtime how long the broker stays down
   */
  public void restart(Duration downtime) throws InterruptedException {
    if (!isEmbedded()) {
      throw new IllegalStateException("only an embedded broker can be restarted: " + this);
    }
    process().close();
    Thread.sleep(downtime.toMillis());
    restarts++;
    replaceProcess(
        serve(serveCommand, dir, dir.resolve("kafka-restart-" + restarts + ".log"), port));
  }

  private static List<String> javaCommand(String classpath, Path logConfig, Path dir) {
    return new ArrayList<>(
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            "-Dlog4j2.configurationFile=" + logConfig,
            "-Dkafka.logs.dir=" + dir.resolve("logs"),
            "-cp",
            classpath));
  }

  private static void runToCompletion(List<String> command, Path dir, Path log) {
    ServerProcess tool =
        ServerProcess.start("kafka-storage format", command, dir, log, Map.of(), Duration.ZERO);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (tool.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      if (tool.isAlive()) {
        tool.close();
        throw new ServerStartException(
            "kafka-storage format did not finish in 60 s." + tool.tail());
      }
      String output = Files.readString(log);
      if (!output.contains("Formatting")) {
        throw new ServerStartException("kafka-storage format failed." + tool.tail());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServerStartException("interrupted while formatting Kafka storage", e);
    } finally {
      tool.close();
    }
  }

  /** A certificate for this run, and the users' passwords. */
  private static Security secure(Path dir, List<String> users) {
    TestTls tls = TestTls.create(dir.resolve("tls"));
    Map<String, String> passwords = new java.util.LinkedHashMap<>();
    for (String user : users) {
      passwords.put(user, TestTls.randomSecret());
    }
    return new Security(tls, passwords);
  }

  private static String serverProperties(
      Path dir, int port, int controllerPort, Security security) {
    String listener = security == null ? "PLAINTEXT" : "SASL_SSL";
    List<String> secured = new ArrayList<>();
    if (security != null) {
      secured.addAll(
          List.of(
              "sasl.enabled.mechanisms=" + SCRAM,
              "sasl.mechanism.inter.broker.protocol=" + SCRAM,
              "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config="
                  + jaas(ADMIN, security.passwords().get(ADMIN)),
              "ssl.keystore.type=PKCS12",
              "ssl.keystore.location=" + security.tls().keystore(),
              "ssl.keystore.password=" + security.tls().keystorePassword(),
              // The broker is its own client between listeners: it trusts its own certificate.
              "ssl.truststore.type=PEM",
              "ssl.truststore.location=" + security.tls().certificate(),
              "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
              "super.users=User:" + ADMIN + ";User:ANONYMOUS",
              "allow.everyone.if.no.acl.found=false"));
    }
    return String.join(
        "\n",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
        "listeners="
            + listener
            + "://127.0.0.1:"
            + port
            + ",CONTROLLER://127.0.0.1:"
            + controllerPort,
        "advertised.listeners=" + listener + "://127.0.0.1:" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=" + listener,
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT," + listener + ":" + listener,
        String.join("\n", secured),
        "log.dirs=" + dir.resolve("data"),
        "num.partitions=1",
        "auto.create.topics.enable=true",
        // One node: internal topics cannot have more replicas, and few partitions start faster.
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        // Flink's KafkaSink defaults to one-hour transactions; the broker's default cap is 15 min.
        "transaction.max.timeout.ms=3600000",
        "");
  }

  /**
   * A random cluster id in Kafka's format (16 bytes, URL-safe base64, no padding). Like Kafka's own
   * {@code Uuid.randomUuid()}, ids starting with '-' are drawn again: command lines read them as
   * options (one id in 64 would fail the format step).
   */
  static String clusterId() {
    SecureRandom random = new SecureRandom();
    byte[] bytes = new byte[16];
    String id;
    do {
      random.nextBytes(bytes);
      id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    } while (id.startsWith("-"));
    return id;
  }

  /** Kafka logs to the console, which {@link ServerProcess} writes to kafka.log. */
  private static final String LOG_CONFIG =
      """
      status = warn
      appender.console.type = Console
      appender.console.name = console
      appender.console.layout.type = PatternLayout
      appender.console.layout.pattern = [%d] %p %m (%c)%n
      rootLogger.level = info
      rootLogger.appenderRef.console.ref = console
      logger.state.name = state.change.logger
      logger.state.level = warn
      """;

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** True if this broker only speaks SASL_SSL ({@link #startSecure}). */
  public boolean isSecure() {
    return security != null;
  }

  /** The password of a SCRAM user of a secured broker. */
  public String password(String user) {
    String password = secured().passwords().get(user);
    if (password == null) {
      throw new IllegalArgumentException("no such user on " + this + ": " + user);
    }
    return password;
  }

  /** The PEM certificate a client of a secured broker trusts. */
  public Path caCertificate() {
    return secured().tls().certificate();
  }

  /**
   * Client properties that log {@code user} in to a secured broker, with the password written out:
   * for test clients, not for the jobs under test (which must be given references).
   */
  public Map<String, Object> clientConfig(String user) {
    Map<String, Object> config = new java.util.HashMap<>(clientSecurity());
    config.put("bootstrap.servers", bootstrapServers);
    config.put("sasl.jaas.config", jaas(user, password(user)));
    return config;
  }

  /** The security properties every client of a secured broker needs, except its login. */
  public Map<String, String> clientSecurity() {
    return Map.of(
        "security.protocol",
        "SASL_SSL",
        "sasl.mechanism",
        SCRAM,
        "ssl.truststore.type",
        "PEM",
        "ssl.truststore.location",
        secured().tls().certificate().toString());
  }

  /** A SCRAM login module line for {@code user}. */
  public static String jaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  private Security secured() {
    if (security == null) {
      throw new IllegalStateException(this + " is not secured; start it with startSecure");
    }
    return security;
  }

  @Override
  protected String address() {
    return bootstrapServers;
  }
}
