package dev.streamrag.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.testsupport.KafkaServer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference job against secured services, every one a real server: Kafka speaking only SASL_SSL
 * with SCRAM logins and ACLs, Redis speaking only TLS with an ACL user, and llm-sim requiring an
 * API key as vLLM's {@code --api-key} does. The job gets each secret as a reference to a file in a
 * directory, as a mounted Kubernetes Secret would be.
 *
 * <p>It answers with its own principal, and those secrets appear nowhere a secret must not: not in
 * the job graph (what is submitted and serialized), not in any log line of the run (Flink, Kafka,
 * Lettuce and the job, at INFO), not in any record on the output topics. A principal without ACLs
 * is refused by the broker.
 */
@Timeout(300)
class SecuredInferenceJobIT {
  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final String MODEL = "qwen2.5-0.5b-l4";
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  private static final String REQUESTS = "sec-" + RUN + "-requests";
  private static final String RESPONSES = "sec-" + RUN + "-responses";
  private static final String LATENCY = "sec-" + RUN + "-latency";
  private static final String DLQ = "sec-" + RUN + "-dlq";
  private static final String PIECES = "sec-" + RUN + "-pieces";
  private static final String GROUP = "sec-" + RUN + "-inference";
  private static final String TRANSACTIONS = "sec-" + RUN;

  @TempDir static Path dir;
  private static KafkaServer kafka;
  private static RedisServer redis;
  private static LlmSimServer llm;
  private static String llmKey;
  private static Path secrets;
  private static Path kafkaProperties;
  private static final StringWriter LOGS = new StringWriter();
  private static Appender capture;

  @BeforeAll
  static void start() throws Exception {
    captureLogs();
    kafka =
        KafkaServer.startSecure(dir, List.of("inference", "client", "nobody", "acme", "globex"));
    redis = RedisServer.startSecure(dir, "inference-cache");
    llmKey = "sk-" + UUID.randomUUID();
    llm = LlmSimServer.start(dir, MODEL, MODEL, null, List.of(), llmKey);

    // What Kubernetes would mount from Secrets: one file per secret.
    secrets = Files.createDirectories(dir.resolve("secrets"));
    Files.writeString(
        secrets.resolve("sasl.jaas.config"),
        KafkaServer.jaas("inference", kafka.password("inference")));
    Files.writeString(secrets.resolve("api-key"), llmKey + "\n");
    Files.writeString(secrets.resolve("redis-password"), redis.secured().password());
    kafkaProperties = dir.resolve("kafka-client.properties");
    StringBuilder properties = new StringBuilder();
    kafka
        .clientSecurity()
        .forEach((k, v) -> properties.append(k).append('=').append(v).append('\n'));
    properties.append("sasl.jaas.config=${dir:").append(secrets).append(":sasl.jaas.config}\n");
    Files.writeString(kafkaProperties, properties.toString());

    try (Admin admin = Admin.create(kafka.clientConfig(KafkaServer.ADMIN))) {
      TestStack.createTopics(
          kafka.clientConfig(KafkaServer.ADMIN), REQUESTS, RESPONSES, LATENCY, DLQ, PIECES);
      List<String> tenantTopics = new ArrayList<>();
      for (String tenant : List.of("acme", "globex")) {
        for (String base : List.of(REQUESTS, RESPONSES, PIECES)) {
          tenantTopics.add(base + "." + tenant);
        }
      }
      TestStack.createTopics(
          kafka.clientConfig(KafkaServer.ADMIN), tenantTopics.toArray(String[]::new));
      List<AclBinding> acls = new ArrayList<>();
      // The job: read requests in its group, write its outputs, transactions under its prefix.
      acls.add(allow("inference", topic(REQUESTS), AclOperation.READ));
      // Isolated tenants: each writes its own requests topic and reads its own answers only.
      for (String tenant : List.of("acme", "globex")) {
        acls.add(allow("inference", topic(REQUESTS + "." + tenant), AclOperation.READ));
        acls.add(allow("inference", topic(RESPONSES + "." + tenant), AclOperation.WRITE));
        acls.add(allow("inference", topic(PIECES + "." + tenant), AclOperation.WRITE));
        acls.add(allow(tenant, topic(REQUESTS + "." + tenant), AclOperation.WRITE));
        acls.add(allow(tenant, topic(RESPONSES + "." + tenant), AclOperation.READ));
        acls.add(allow(tenant, topic(PIECES + "." + tenant), AclOperation.READ));
        acls.add(allow(tenant, group("it-", PatternType.PREFIXED), AclOperation.READ));
      }
      acls.add(allow("inference", group(GROUP, PatternType.LITERAL), AclOperation.READ));
      for (String output : List.of(RESPONSES, LATENCY, DLQ, PIECES)) {
        acls.add(allow("inference", topic(output), AclOperation.WRITE));
      }
      acls.add(
          allow(
              "inference",
              new ResourcePattern(
                  ResourceType.TRANSACTIONAL_ID, TRANSACTIONS, PatternType.PREFIXED),
              AclOperation.WRITE));
      // A client: send requests, read answers and pieces.
      acls.add(allow("client", topic(REQUESTS), AclOperation.WRITE));
      acls.add(allow("client", topic(RESPONSES), AclOperation.READ));
      acls.add(allow("client", topic(PIECES), AclOperation.READ));
      acls.add(allow("client", group("it-", PatternType.PREFIXED), AclOperation.READ));
      admin.createAcls(acls).all().get();
    }
  }

  /** Every log line of this JVM at INFO, Flink's TaskManager included, into {@link #LOGS}. */
  private static void captureLogs() {
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    org.apache.logging.log4j.core.config.Configuration config = context.getConfiguration();
    capture =
        WriterAppender.newBuilder()
            .setName("secret-scan")
            .setTarget(LOGS)
            .setLayout(PatternLayout.newBuilder().withPattern("%c %m %ex%n").build())
            .build();
    capture.start();
    config.addAppender(capture);
    LoggerConfig root = config.getRootLogger();
    Appender console = config.getAppender("console");
    if (console != null) {
      root.removeAppender("console");
      root.addAppender(console, Level.WARN, null); // the console stays as quiet as before
    }
    root.setLevel(Level.INFO);
    root.addAppender(capture, Level.INFO, null);
    context.updateLoggers();
  }

  @AfterAll
  static void stop() {
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    context.getConfiguration().getRootLogger().removeAppender("secret-scan");
    context.getConfiguration().getRootLogger().setLevel(Level.WARN);
    context.updateLoggers();
    for (AutoCloseable server : new AutoCloseable[] {llm, redis, kafka}) {
      try {
        if (server != null) {
          server.close();
        }
      } catch (Exception e) {
        // best effort: the next server still stops
      }
    }
  }

  private static ResourcePattern topic(String name) {
    return new ResourcePattern(ResourceType.TOPIC, name, PatternType.LITERAL);
  }

  private static ResourcePattern group(String name, PatternType type) {
    return new ResourcePattern(ResourceType.GROUP, name, type);
  }

  private static AclBinding allow(String user, ResourcePattern resource, AclOperation operation) {
    return new AclBinding(
        resource, new AccessControlEntry("User:" + user, "*", operation, AclPermissionType.ALLOW));
  }

  private static Configuration jobConfig(Path kafkaClientProperties) {
    return JobConfig.load(
        new String[] {
          "--kafka.bootstrap-servers",
          kafka.bootstrapServers(),
          "--kafka.properties-file",
          kafkaClientProperties.toString(),
          "--inference.requests-topic",
          REQUESTS,
          "--inference.responses-topic",
          RESPONSES,
          "--inference.latency-topic",
          LATENCY,
          "--inference.dead-letter-topic",
          DLQ,
          "--pieces.topic",
          PIECES,
          "--inference.consumer-group",
          GROUP,
          "--inference.transactional-id-prefix",
          TRANSACTIONS,
          "--llm.endpoints",
          llm.baseUrl(),
          "--llm.models",
          MODEL,
          "--llm.api-key",
          "${dir:" + secrets + ":api-key}",
          "--redis.url",
          redis.uri(),
          "--redis.username",
          redis.secured().user(),
          "--redis.password",
          "${dir:" + secrets + ":redis-password}",
          "--redis.ca-file",
          redis.secured().tls().certificate().toString(),
          "--cache.enabled",
          "true",
          "--tenancy.isolated-tenants",
          "acme;globex"
        },
        Map.of(),
        InferenceOptions.ALL);
  }

  private static StreamExecutionEnvironment environment() {
    Configuration flink = new Configuration();
    flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one task failure fails the job
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    env.setParallelism(1);
    env.enableCheckpointing(500);
    return env;
  }

  @Test
  void theJobAnswersWithItsOwnPrincipalAndNoSecretLeaks() throws Exception {
    List<String> secretValues =
        List.of(
            kafka.password("inference"),
            kafka.password("client"),
            llmKey,
            redis.secured().password());
    StreamExecutionEnvironment env = environment();
    InferenceJob.buildOnKafka(env, jobConfig(kafkaProperties));
    JobGraph graph = env.getStreamGraph(false).getJobGraph();
    String serializedGraph =
        new String(InstantiationUtil.serializeObject(graph), StandardCharsets.ISO_8859_1);
    assertThat(serializedGraph).as("the job graph holds the references").contains("${dir:");
    for (String secret : secretValues) {
      assertThat(serializedGraph).as("the serialized job graph").doesNotContain(secret);
    }

    JobClient job = env.executeAsync(env.getStreamGraph());
    Map<String, Object> client = kafka.clientConfig("client");
    List<String> ids = new ArrayList<>();
    List<String> values = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String id = "sec-" + i;
      ids.add(id);
      // Two rounds of the same three questions: the second round is answered from Redis.
      values.add(
          TestStack.request(id, "shared-co", "CHAT", "Secure question " + (i % 3), 32).toString());
    }
    try (TestStack.Reader<InferenceResponse> answers =
        new TestStack.Reader<>(client, RESPONSES, InferenceResponse.class)) {
      TestStack.produce(client, REQUESTS, values.subList(0, 3));
      answers.until(seen -> seen.size() >= 3, Duration.ofSeconds(120));
      TestStack.produce(client, REQUESTS, values.subList(3, 6));
      List<InferenceResponse> all = answers.until(TestStack.answered(ids), Duration.ofSeconds(120));
      assertThat(all)
          .as("answered through the LLM with its key and Redis with its user")
          .allMatch(r -> r.getStatus() == ResponseStatus.OK, "OK");
      assertThat(all)
          .filteredOn(r -> r.getCacheHit() != CacheHitKind.NONE)
          .as("the repeated questions came from the TLS Redis")
          .isNotEmpty();
      assertThat(all)
          .extracting(InferenceResponse::getLlmEndpoint)
          .as("a response names no internal endpoint")
          .noneMatch(e -> e != null && e.contains("127.0.0.1"));
      tenantsStayApart();
      assertThat(job.getJobStatus().get()).as("no task failed").isEqualTo(JobStatus.RUNNING);
    } finally {
      job.cancel().get();
    }

    // Everything the job wrote, read back as bytes by the super user.
    StringBuilder outputs = new StringBuilder();
    for (String topic : List.of(RESPONSES, LATENCY, DLQ, PIECES)) {
      try (KafkaConsumer<byte[], byte[]> consumer =
          TestStack.fromEarliest(
              kafka.clientConfig(KafkaServer.ADMIN), topic, "read_uncommitted")) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
          for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
            outputs.append(new String(record.value(), StandardCharsets.ISO_8859_1)).append('\n');
          }
        }
      }
    }
    assertThat(outputs.toString()).as("records were read back").contains("sec-5");
    String logs = LOGS.toString();
    assertThat(logs)
        .as("the log capture saw the Kafka clients start")
        .contains("ProducerConfig values")
        .contains("sasl.jaas.config = [hidden]");
    for (String secret : secretValues) {
      assertThat(logs).as("the run's logs").doesNotContain(secret);
      assertThat(outputs.toString()).as("the output topics").doesNotContain(secret);
    }
  }

  /**
   * Isolated tenants acme and globex, each with its own Kafka user and topics: neither can act as
   * the other, read the other's answers or pieces, or get the other's cached answer, through any
   * field it controls.
   */
  private static void tenantsStayApart() throws Exception {
    Map<String, Object> acme = kafka.clientConfig("acme");
    Map<String, Object> globex = kafka.clientConfig("globex");
    String question = "What is globex's plan for the quarter?";
    try (TestStack.Reader<InferenceResponse> globexAnswers =
            new TestStack.Reader<>(globex, RESPONSES + ".globex", InferenceResponse.class);
        TestStack.Reader<InferenceResponse> acmeAnswers =
            new TestStack.Reader<>(acme, RESPONSES + ".acme", InferenceResponse.class);
        TestStack.PieceReader acmePieces = new TestStack.PieceReader(acme, PIECES + ".acme")) {
      TestStack.produce(
          globex,
          REQUESTS + ".globex",
          List.of(TestStack.request("g-1", "globex", "CHAT", question, 32).toString()));
      globexAnswers.until(TestStack.answered(List.of("g-1")), Duration.ofSeconds(120));

      // acme: the same question (no tenant named), one naming globex on acme's own topic; and a
      // producer of the shared topic naming acme.
      TestStack.produce(
          acme,
          REQUESTS + ".acme",
          List.of(
              TestStack.request("a-1", "", "CHAT", question, 32).toString(),
              TestStack.request("a-2", "globex", "CHAT", question, 32).toString()));
      TestStack.produce(
          kafka.clientConfig("client"),
          REQUESTS,
          List.of(TestStack.request("a-3", "acme", "CHAT", question, 32).toString()));
      Map<String, InferenceResponse> byId =
          TestStack.byId(
              acmeAnswers.until(
                  TestStack.answered(List.of("a-1", "a-2")), Duration.ofSeconds(120)));
      assertThat(byId.get("a-1").getStatus()).isEqualTo(ResponseStatus.OK);
      assertThat(byId.get("a-1").getTenantId()).as("bound to its topic").isEqualTo("acme");
      assertThat(byId.get("a-1").getCacheHit())
          .as("globex's cached answer to the same question is not acme's")
          .isEqualTo(CacheHitKind.NONE);
      assertThat(byId.get("a-2").getStatus()).isEqualTo(ResponseStatus.REJECTED);
      assertThat(byId.get("a-2").getError().getCode()).isEqualTo("tenant.mismatch");
      assertThat(byId.get("a-2").getTenantId()).isEqualTo("acme");
      try (KafkaConsumer<byte[], byte[]> deadLetters =
          TestStack.fromEarliest(kafka.clientConfig(KafkaServer.ADMIN), DLQ, "read_uncommitted")) {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!seen.toString().contains("tenant.isolated") && System.nanoTime() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : deadLetters.poll(Duration.ofMillis(200))) {
            seen.append(new String(r.value(), StandardCharsets.ISO_8859_1));
          }
        }
        assertThat(seen.toString())
            .as("the shared topic's producer naming acme: a dead letter")
            .contains("tenant.isolated");
      }
      acmeAnswers.poll(Duration.ofSeconds(2));
      assertThat(acmeAnswers.seen())
          .extracting(InferenceResponse::getRequestId)
          .as("nothing the shared topic's producer sent reached acme's topic")
          .doesNotContain("a-3");
      assertThat(globexAnswers.seen())
          .extracting(InferenceResponse::getRequestId)
          .as("nothing of acme's reached globex's topic")
          .containsExactly("g-1");
      assertThat(acmePieces.finished(List.of("a-1"), Duration.ofSeconds(30)).get("a-1").text())
          .as("acme's answer streamed on acme's own pieces topic")
          .isEqualTo(byId.get("a-1").getText());
    }

    // And the broker refuses acme everything of globex's.
    try (var producer =
        new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
            withMaxBlock(acme),
            new org.apache.kafka.common.serialization.ByteArraySerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      assertThatThrownBy(
              () ->
                  producer
                      .send(
                          new org.apache.kafka.clients.producer.ProducerRecord<>(
                              REQUESTS + ".globex", new byte[] {1}))
                      .get())
          .hasStackTraceContaining("TopicAuthorizationException");
    }
    for (String topic : List.of(RESPONSES + ".globex", PIECES + ".globex", RESPONSES)) {
      try (KafkaConsumer<byte[], byte[]> consumer =
          TestStack.fromEarliest(acme, topic, "read_committed")) {
        assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(10)))
            .as("acme reading " + topic)
            .hasStackTraceContaining("Not authorized");
      }
    }
  }

  private static Map<String, Object> withMaxBlock(Map<String, Object> client) {
    Map<String, Object> config = new java.util.HashMap<>(client);
    config.put("max.block.ms", 10_000);
    return config;
  }

  @Test
  void aPrincipalWithoutAclsIsRefused() throws Exception {
    Path nobody = dir.resolve("secrets-nobody");
    Files.createDirectories(nobody);
    Files.writeString(
        nobody.resolve("sasl.jaas.config"), KafkaServer.jaas("nobody", kafka.password("nobody")));
    Path properties = dir.resolve("kafka-nobody.properties");
    Files.writeString(
        properties,
        Files.readString(kafkaProperties).replace(secrets.toString(), nobody.toString()));
    StreamExecutionEnvironment env = environment();
    InferenceJob.buildOnKafka(env, jobConfig(properties));
    JobClient job = env.executeAsync("nobody");
    assertThatThrownBy(() -> job.getJobExecutionResult().get())
        .as("the broker refuses the job's principal")
        .hasStackTraceContaining("Authorization");
  }
}
