package dev.streamrag.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.corpus.CorpusFiles;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.ingest.index.BulkTransport;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.retrieve.OpenSearchAccessException;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.testsupport.OpenSearchServer;
import dev.streamrag.testsupport.junit.KafkaExtension;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The ingest job against a real OpenSearch with its security plugin: index creation and bulk writes
 * over https with basic auth (the password read from a mounted-Secret-like directory, the node's CA
 * from opensearch.ca-file). A wrong password or a missing CA refuses the start with a reason that
 * names the setting; an index the user may not write fails the job (configuration, not dead
 * letters), as any refused index does. No error holds a password.
 */
@Timeout(300)
class SecureOpenSearchIngestIT {
  @RegisterExtension static final KafkaExtension KAFKA = new KafkaExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final Path DIR = Path.of("target", "servers", "secure-ingest-it");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int DOCUMENTS = 6;

  private static OpenSearchServer server;
  private static Path secrets;
  private static Path corpus;
  private static String suffix;

  @BeforeAll
  static void start() throws Exception {
    server = OpenSearchServer.startSecure(DIR);
    OpenSearchServer.Secured secured = server.secured();
    secrets = Files.createDirectories(DIR.toAbsolutePath().resolve("secrets"));
    for (String user : List.of(OpenSearchServer.ADMIN, OpenSearchServer.LIMITED)) {
      Files.writeString(secrets.resolve(user), secured.password(user) + "\n");
    }
    Files.writeString(secrets.resolve("wrong"), "not-the-password");
    suffix = UUID.randomUUID().toString().substring(0, 8);
    corpus = Files.createDirectories(DIR.toAbsolutePath().resolve("corpus-" + suffix));
    CorpusFiles.write(DemoCorpus.generate(3, DOCUMENTS, List.of("acme")), corpus);
    Files.delete(corpus.resolve(CorpusFiles.QUESTIONS));
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic("dlq-" + suffix, 1, (short) 1))).all().get();
    }
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** The job's settings, as flags: {@code password} names a file in the secrets directory. */
  private static Configuration settings(String user, String password, boolean trust, String index) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--ingest.kafka-enabled",
                "false",
                "--ingest.files",
                corpus.toString(),
                "--kafka.bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--ingest.dead-letter-topic",
                "dlq-" + suffix,
                "--ingest.index",
                index,
                "--opensearch.url",
                server.uri().toString(),
                "--opensearch.username",
                user,
                "--opensearch.password",
                "${dir:" + secrets + ":" + password + "}"));
    if (trust) {
      args.addAll(List.of("--opensearch.ca-file", server.secured().caCertificate().toString()));
    }
    return JobConfig.load(args.toArray(String[]::new), Map.of(), IngestOptions.ALL);
  }

  private static void runJob(Configuration config) throws Exception {
    Configuration flink = new Configuration();
    flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // one task failure fails the job
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    env.setParallelism(1);
    new IngestJob(config)
        .build(
            IngestJobMain.sources(env, config),
            IngestJob.index(config),
            IngestJob.deadLetterSink(config));
    env.execute("secure-ingest-it");
  }

  private static long count(String index) throws Exception {
    HttpResponse<String> response =
        server
            .secured()
            .httpClient()
            .send(
                HttpRequest.newBuilder(server.uri().resolve("/" + index + "/_count"))
                    .header(
                        "Authorization",
                        server.secured().basicAuthorization(OpenSearchServer.ADMIN))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).get("count").asLong();
  }

  private static void assertNoPassword(String text) {
    for (String user : List.of(OpenSearchServer.ADMIN, OpenSearchServer.LIMITED)) {
      assertThat(text).doesNotContain(server.secured().password(user));
    }
    assertThat(text).doesNotContain("not-the-password");
  }

  /** One chunk to write, with a vector of the model's dimension. */
  private static List<dev.streamrag.ingest.ChunkAction> oneChunk() {
    dev.streamrag.ingest.ChunkAction action = new dev.streamrag.ingest.ChunkAction();
    action.kind = dev.streamrag.ingest.ChunkAction.Kind.UPSERT;
    action.tenantId = "acme";
    action.docId = "probe";
    action.chunkId = dev.streamrag.ingest.ChunkAction.chunkId("acme", "probe", 0);
    action.text = "probe";
    action.vector = new float[384];
    action.vector[0] = 1;
    return List.of(action);
  }

  @Test
  void createsTheIndexAndWritesChunksOverHttpsWithItsLogin() throws Exception {
    String index = "limited-chunks-" + suffix;
    Configuration config =
        settings(OpenSearchServer.LIMITED, OpenSearchServer.LIMITED, true, index);
    OpenSearchEndpoint endpoint = OpenSearchEndpoint.from(config);
    assertThat(endpoint.https()).isTrue();
    assertThat(KnnIndex.createIfMissing(endpoint, index, 384, 1, 0)).isTrue();
    assertThat(KnnIndex.createIfMissing(endpoint, index, 384, 1, 0)).isFalse();
    IngestJobMain.createIndex(config); // as the job's start does: exists, nothing to do

    runJob(config);
    KnnIndex.refresh(endpoint, index);
    assertThat(count(index)).isEqualTo(DOCUMENTS);
  }

  @Test
  void aWrongPasswordOrAMissingCaRefusesTheStartAndTheWriterNamingTheSetting() throws Exception {
    String index = "limited-refused-" + suffix;
    Configuration wrong = settings(OpenSearchServer.LIMITED, "wrong", true, index);
    assertThatThrownBy(() -> IngestJobMain.createIndex(wrong))
        .isInstanceOf(OpenSearchAccessException.class)
        .hasMessageContaining("refused the login of user limited (401 Unauthorized)")
        .hasMessageContaining("opensearch.password ${dir:" + secrets + ":wrong}")
        .satisfies(e -> assertNoPassword(ExceptionUtils.stringifyException(e)));
    try (BulkTransport writer = IngestJob.index(wrong).open()) {
      Throwable refused = catchThrowable(() -> writer.send(oneChunk(), Duration.ofSeconds(10)));
      assertThat(refused).isInstanceOf(BulkTransport.RequestFailed.class);
      assertThat(((BulkTransport.RequestFailed) refused).status()).isEqualTo(401);
      assertThat(refused).hasMessageContaining("refused the login of user limited");
      assertNoPassword(ExceptionUtils.stringifyException(refused));
    }

    Configuration untrusting =
        settings(OpenSearchServer.LIMITED, OpenSearchServer.LIMITED, false, index);
    assertThatThrownBy(() -> IngestJobMain.createIndex(untrusting))
        .isInstanceOf(OpenSearchAccessException.class)
        .hasMessageContaining("TLS with OpenSearch at " + server.uri())
        .hasMessageContaining("opensearch.ca-file is empty")
        .satisfies(e -> assertNoPassword(ExceptionUtils.stringifyException(e)));
    try (BulkTransport writer = IngestJob.index(untrusting).open()) {
      assertThatThrownBy(() -> writer.send(oneChunk(), Duration.ofSeconds(10)))
          .isInstanceOf(OpenSearchAccessException.class)
          .hasMessageContaining("PKIX path building failed");
    }
    assertThat(count("_all")).as("nothing was written").isZero();
  }

  @Test
  void anIndexTheUserMayNotWriteFailsTheJobAsAnyRefusedIndexDoes() throws Exception {
    String index = "admin-chunks-" + suffix;
    assertThat(
            KnnIndex.createIfMissing(
                OpenSearchEndpoint.from(
                    settings(OpenSearchServer.ADMIN, OpenSearchServer.ADMIN, true, index)),
                index,
                384,
                1,
                0))
        .isTrue();
    Configuration limited =
        settings(OpenSearchServer.LIMITED, OpenSearchServer.LIMITED, true, index);
    // At the job's start: the index check itself is refused.
    assertThatThrownBy(() -> IngestJobMain.createIndex(limited))
        .isInstanceOf(OpenSearchAccessException.class)
        .hasMessageContaining("user limited may not check or create index " + index)
        .hasMessageContaining("(403)");

    // Started anyway (the index check skipped): the writer fails the job at its first flush; no
    // document is dead-lettered for it.
    Throwable failed = catchThrowable(() -> runJob(limited));
    assertThat(failed).as("the job must fail").isNotNull();
    String trace = ExceptionUtils.stringifyException(failed);
    assertThat(trace)
        .contains("403")
        .contains("no permissions for [indices:data/write/bulk")
        .containsAnyOf(
            "may not write index " + index, "check opensearch.username and its role's permissions");
    assertNoPassword(trace);
    assertThat(count(index)).isZero();
  }
}
