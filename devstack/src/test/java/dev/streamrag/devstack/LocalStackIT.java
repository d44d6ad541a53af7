package dev.streamrag.devstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.ClientClock;
import dev.streamrag.bench.client.Receipt;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.report.ClientLatency;
import dev.streamrag.bench.report.LatencyStats;
import dev.streamrag.bench.report.RunRecords;
import dev.streamrag.bench.report.RunReport;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.schemas.pieces.StreamedAnswer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The one-command path end to end, on one stack for the class: real servers, the gateway, the
 * ingest job over the demo corpus, the inference job. A short load scenario through Kafka and its
 * report, checked against the raw records and receipts it was made of and against a second client's
 * own stamps; the official OpenAI client through the gateway; a scenario through the gateway,
 * measured at its HTTP client.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalStackIT {
  private static final String MODEL = LocalStack.PROFILE;
  private static Path dir;
  private static LocalStack stack;

  @BeforeAll
  static void startStack() throws Exception {
    dir = Files.createTempDirectory("local-stack-it");
    stack = LocalStack.start(dir.resolve("stack"), "0", Map.of(), line -> {});
  }

  @AfterAll
  static void stopStack() {
    if (stack != null) {
      stack.close();
    }
  }

  /**
   * Agents in the load: the stack's own MCP server (over the corpus it ingested) serves their
   * tools, llm-sim plays the model, and the report grades them against the multi-hop ground truth.
   */
  @Test
  @Order(4)
  void agentsInTheLoadAreAnsweredByTheirToolsAndReported() throws Exception {
    Map<String, String> settings =
        Map.of(
            "bench.run-id", "it-agents",
            "bench.duration", "10 s",
            "bench.rate", "4",
            "bench.agent-share", "1.0",
            "bench.max-tokens", "fixed:48",
            "bench.results-dir", dir.resolve("results").toString(),
            "bench.report-grace", "30 s",
            "bench.warmup", "2 s");
    ScenarioRun.Result result =
        ScenarioRun.run(
            stack,
            settings,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    RunReport report = result.measured().report();
    RunReport.Agents agents = report.agents();
    assertThat(report.counts().lost()).isZero();
    assertThat(agents).isNotNull();
    assertThat(agents.answered()).isGreaterThan(20).isEqualTo(report.counts().measured());
    assertThat(agents.byStatus()).containsOnlyKeys("OK");
    assertThat(agents.answerAccuracy())
        .as("multi-hop answers correct")
        .isGreaterThanOrEqualTo(0.95);
    assertThat(agents.steps().mean()).isEqualTo(4.0);
    assertThat(agents.toolCallsByName()).containsOnlyKeys("lookup_entity", "compute");
    assertThat(agents.toolErrors()).isZero();
    assertThat(agents.overheadPerStep().steps()).isEqualTo(agents.answered() * 4);
  }

  @Test
  @Order(1)
  void aShortScenarioIsAnsweredInFullAndReportedConsistently() throws Exception {
    Map<String, String> settings =
        Map.of(
            "bench.run-id", "it-run",
            "bench.duration", "20 s",
            "bench.rate", "4",
            "bench.zipf-exponent", "1.0",
            "bench.rag-share", "0.75",
            "bench.max-tokens", "uniform:16,48",
            "bench.results-dir", dir.resolve("results").toString(),
            "bench.report-grace", "30 s",
            "bench.warmup", "5 s");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ScenarioRun.Result result;
    Map<String, long[]> ownStamps;
    // A second, independent client on the pieces topic: the report's client figures must agree
    // with what it stamps itself.
    try (OwnClient own = new OwnClient(stack.kafkaBootstrap(), "it-run-")) {
      result =
          ScenarioRun.run(stack, settings, new PrintStream(console, true, StandardCharsets.UTF_8));
      ownStamps =
          own.awaitEnds(result.measured().records().answered().keySet(), Duration.ofSeconds(30));
    }
    long okCount = result.measured().report().byStatus().getOrDefault("OK", 0L);
    String metrics =
        awaitMetric(stack.metricsUrl(), "streamrag_status_responses", "status=\"OK\"", okCount);
    // The live latency metrics, as Prometheus scrapes them, for every stage of RAG requests:
    // a p99 with a value (labels come in no fixed order).
    List<String> latencyLines =
        metrics
            .lines()
            .filter(
                l ->
                    l.startsWith(
                        "flink_taskmanager_job_task_operator_streamrag_kind_stage_latency_ms{"))
            .filter(l -> l.contains("kind=\"RAG\"") && l.contains("quantile=\"0.99\""))
            .toList();
    for (String stage :
        List.of("job_e2e", "job_ttft", "queue", "embed", "retrieve", "ttft_llm", "tpot", "llm")) {
      assertThat(latencyLines)
          .as(stage)
          .anySatisfy(
              l -> {
                assertThat(l).contains("stage=\"" + stage + "\"");
                assertThat(Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).isPositive();
              });
    }
    assertThat(metrics)
        .contains(
            "flink_taskmanager_job_task_operator_streamrag_goodput_ratio",
            "flink_taskmanager_job_task_operator_streamrag_cache_hit_ratio");
    RunReport report = result.measured().report();
    RunRecords records = result.measured().records();

    // Nothing lost: every request sent was answered, once.
    assertThat(report.counts().sent()).isGreaterThan(50);
    assertThat(report.counts().lost()).isZero();
    assertThat(report.counts().sent())
        .isEqualTo(report.counts().answered() + report.counts().lost());
    assertThat(report.counts().duplicateResponses()).isZero();
    assertThat(report.byStatus().values().stream().mapToLong(Long::longValue).sum())
        .isEqualTo(report.counts().answered());
    assertThat(report.timeline().stream().mapToLong(RunReport.Second::sent).sum())
        .isEqualTo(report.counts().sent());

    // Percentiles agree with the raw records after the 5 s warm-up (HdrHistogram keeps 3
    // significant digits).
    long measuredFrom =
        records.sent().values().stream()
                .mapToLong(r -> r.getCreatedAt().toEpochMilli())
                .min()
                .orElseThrow()
            + 5_000;
    List<InferenceResponse> measured =
        records.answered().values().stream()
            .filter(
                r ->
                    records.sent().get(r.getRequestId()).getCreatedAt().toEpochMilli()
                        >= measuredFrom)
            .toList();
    assertThat((long) measured.size())
        .isEqualTo(report.counts().measured())
        .isLessThan(report.counts().sent());
    List<InferenceResponse> ok =
        measured.stream().filter(r -> r.getStatus() == ResponseStatus.OK).toList();
    assertThat((long) ok.size()).isGreaterThan(report.counts().measured() * 9 / 10);
    // The headline is what the client received: every OK answer streamed to its end, its pieces
    // reassembling exactly into the committed text, and the committed answer seen too.
    assertThat(report.latencySource()).isEqualTo(RunReport.CLIENT);
    assertThat(report.streams().incomplete()).isZero();
    assertThat(report.streams().mismatched()).isZero();
    assertThat(report.streams().diverged()).isZero();
    assertThat(report.streams().committedSeen()).isEqualTo(report.counts().measured());
    Receipts receipts = result.receipts();
    Function<InferenceResponse, ClientLatency> client =
        r ->
            ClientLatency.of(
                records.sent().get(r.getRequestId()), r, receipts.get(r.getRequestId()));
    LatencyStats.Summary e2e = report.latency().get("ALL").get("e2e");
    assertThat(e2e.count()).isEqualTo(ok.size());
    assertClose(e2e.p50(), exact(ok, r -> client.apply(r).e2e(), 50));
    assertClose(e2e.p99(), exact(ok, r -> client.apply(r).e2e(), 99));
    assertClose(e2e.max(), exact(ok, r -> client.apply(r).e2e(), 100));
    LatencyStats.Summary ttft = report.latency().get("ALL").get("ttft");
    assertClose(ttft.p50(), exact(ok, r -> client.apply(r).ttft(), 50));
    LatencyStats.Summary committed = report.latency().get("ALL").get("committed");
    assertClose(committed.p50(), exact(ok, r -> client.apply(r).committed(), 50));
    // The committed answer waits for a checkpoint; the streamed one does not.
    assertThat(committed.p50()).isGreaterThan(e2e.p50());

    // ... and agrees with a second client's own stamps of the same pieces (two consumers of one
    // broker: their stamps differ by scheduling noise, not by a stage of the pipeline).
    List<Double> ownE2e = new ArrayList<>();
    List<Double> ownTtft = new ArrayList<>();
    for (InferenceResponse r : ok) {
      long[] stamp = ownStamps.get(r.getRequestId());
      assertThat(stamp).as("the second client saw %s", r.getRequestId()).isNotNull();
      assertThat(stamp[1]).as("the second client saw %s end", r.getRequestId()).isPositive();
      long intended =
          ClientLatency.intendedMicros(
              records.sent().get(r.getRequestId()), result.receipts().get(r.getRequestId()));
      ownTtft.add((stamp[0] - intended) / 1000.0);
      ownE2e.add((stamp[1] - intended) / 1000.0);
    }
    assertAgrees(e2e.p50(), percentile(ownE2e, 50));
    assertAgrees(ttft.p50(), percentile(ownTtft, 50));
    assertAgrees(e2e.p90(), percentile(ownE2e, 90));

    long hits = measured.stream().filter(r -> r.getCacheHit() == CacheHitKind.RESPONSE).count();
    assertThat(report.cacheHitRatio()).isCloseTo((double) hits / measured.size(), within(1e-9));
    long good =
        measured.stream()
            .filter(
                r -> report.slo().met(r.getStatus(), client.apply(r).ttft(), client.apply(r).e2e()))
            .count();
    assertThat(report.goodput().good()).isEqualTo(good);

    // The demo corpus's ground truth: RAG answers hold the fact and cite the document.
    assertThat(report.quality().graded()).isGreaterThan(15);
    assertThat(report.quality().answerAccuracy()).isGreaterThanOrEqualTo(0.9);
    assertThat(report.quality().retrievalHitRate()).isGreaterThanOrEqualTo(0.9);

    // The report on disk has every part.
    Path folder = result.markdown().getParent();
    JsonNode json = new ObjectMapper().readTree(folder.resolve("report.json").toFile());
    for (String field :
        List.of(
            "runId",
            "scenario",
            "slo",
            "counts",
            "byStatus",
            "errorsByCode",
            "offeredPerSecond",
            "throughputPerSecond",
            "outputTokensPerSecond",
            "goodput",
            "cacheHitRatio",
            "quality",
            "latency",
            "cdf",
            "timeline",
            "cost",
            "lostSample")) {
      assertThat(json.has(field)).as(field).isTrue();
    }
    for (String stage :
        List.of(
            "ttft",
            "e2e",
            "committed",
            "tpot_client",
            "overhead_ttft",
            "job_e2e",
            "job_ttft",
            "queue",
            "cache",
            "embed",
            "retrieve",
            "prompt",
            "ttft_llm",
            "tpot",
            "llm")) {
      assertThat(json.path("latency").path("RAG").has(stage)).as(stage).isTrue();
    }
    assertThat(json.path("latency").has("CHAT")).isTrue();
    JsonNode cdf = json.path("cdf").path("e2e");
    assertThat(cdf.size()).isEqualTo(102);
    assertThat(cdf.get(cdf.size() - 1).path("millis").asDouble())
        .isCloseTo(e2e.max(), within(1e-9));
    assertThat(json.path("cost").size()).isGreaterThanOrEqualTo(2);
    assertThat(json.path("cost").get(0).path("usdPer1kRequests").asDouble()).isPositive();
    for (String chart : List.of("latency-over-time.png", "latency-cdf.png", "throughput.png")) {
      byte[] png = Files.readAllBytes(folder.resolve(chart));
      assertThat(new String(png, 1, 3, StandardCharsets.US_ASCII)).as(chart).isEqualTo("PNG");
    }
    String markdown = Files.readString(result.markdown());
    assertThat(markdown)
        .contains(
            "## Summary", "goodput", "## Cost", "| e2e |", "lost (sent, never answered) | 0 |");
    assertThat(console.toString(StandardCharsets.UTF_8))
        .contains("run it-run:", "lost 0", "report: ");
  }

  @Test
  @Order(2)
  void theOfficialOpenAiClientGetsStreamedAndWholeAnswersThroughTheGateway() {
    QaPair qa =
        DemoCorpus.generate(
                BenchOptions.CORPUS_SEED.defaultValue(),
                BenchOptions.CORPUS_DOCUMENTS.defaultValue(),
                BenchOptions.CORPUS_TENANTS.defaultValue())
            .questions()
            .stream()
            .filter(q -> q.tenantId().equals("acme"))
            .findFirst()
            .orElseThrow();
    Map<String, String> endpoints = endpoints();
    OpenAIClient client =
        OpenAIOkHttpClient.builder()
            .baseUrl(endpoints.get("gateway.url"))
            .apiKey(endpoints.get("gateway.api-key.acme"))
            .maxRetries(0)
            .build();
    try {
      ChatCompletionCreateParams rag =
          ChatCompletionCreateParams.builder()
              .model(MODEL)
              .addUserMessage(qa.question())
              .maxCompletionTokens(48)
              .temperature(0.0)
              .putAdditionalBodyProperty(
                  "streamrag", JsonValue.from(Map.of("kind", "RAG", "cache_mode", "BYPASS")))
              .build();
      StringBuilder streamed = new StringBuilder();
      long[] chunks = {0};
      try (StreamResponse<ChatCompletionChunk> stream =
          client.chat().completions().createStreaming(rag)) {
        stream.stream()
            .forEach(
                chunk -> {
                  chunks[0]++;
                  chunk
                      .choices()
                      .forEach(choice -> choice.delta().content().ifPresent(streamed::append));
                });
      }
      assertThat(streamed.toString()).as(qa.question()).contains(qa.answer());
      assertThat(chunks[0]).as("the answer came in several chunks").isGreaterThan(2);

      ChatCompletion whole = client.chat().completions().create(rag);
      assertThat(whole.choices().get(0).message().content())
          .as("a deterministic model answers the same question the same way")
          .contains(streamed.toString());
      assertThat(whole._additionalProperties()).containsKey("streamrag");

      OpenAIClient stranger =
          OpenAIOkHttpClient.builder()
              .baseUrl(endpoints.get("gateway.url"))
              .apiKey("sk-not-a-key")
              .maxRetries(0)
              .build();
      assertThatThrownBy(() -> stranger.chat().completions().create(rag))
          .isInstanceOf(UnauthorizedException.class);
      stranger.close();
      assertThatThrownBy(
              () -> client.chat().completions().create(rag.toBuilder().model("gpt-9").build()))
          .isInstanceOf(NotFoundException.class);
      // Refused by the job, not the gateway: the prompt is over inference.max-prompt-chars.
      assertThatThrownBy(
              () ->
                  client
                      .chat()
                      .completions()
                      .create(
                          rag.toBuilder()
                              .messages(List.of())
                              .addUserMessage("x".repeat(150_000))
                              .build()))
          .isInstanceOf(BadRequestException.class)
          .hasMessageContaining("more than the limit of 100000");
    } finally {
      client.close();
    }
  }

  @Test
  @Order(3)
  void aScenarioThroughTheGatewayIsMeasuredAtItsHttpClient() throws Exception {
    Map<String, String> settings =
        Map.of(
            "bench.run-id", "it-gw",
            "bench.target", "GATEWAY",
            "bench.duration", "10 s",
            "bench.rate", "4",
            "bench.seed", "7",
            "bench.max-tokens", "uniform:16,48",
            "bench.results-dir", dir.resolve("results").toString(),
            "bench.report-grace", "30 s",
            "bench.warmup", "2 s");
    ScenarioRun.Result result =
        ScenarioRun.run(stack, settings, new PrintStream(new ByteArrayOutputStream()));
    RunReport report = result.measured().report();

    assertThat(report.counts().sent()).isGreaterThan(20);
    assertThat(report.counts().lost()).isZero();
    assertThat(report.latencySource()).isEqualTo(RunReport.CLIENT);
    assertThat(report.streams().incomplete()).isZero();
    assertThat(report.streams().mismatched()).isZero();
    assertThat(report.quality().answerAccuracy()).isGreaterThanOrEqualTo(0.9);
    // The HTTP client stamped each request's own intended send time, first text and end.
    for (InferenceResponse response : result.measured().records().answered().values()) {
      Receipt receipt = result.receipts().get(response.getRequestId());
      assertThat(receipt).as(response.getRequestId()).isNotNull();
      assertThat(receipt.sentMicros()).isPositive();
      assertThat(receipt.endMicros()).isGreaterThanOrEqualTo(receipt.firstTextMicros());
      assertThat(receipt.firstTextMicros()).isGreaterThan(receipt.sentMicros());
    }
  }

  private static Map<String, String> endpoints() {
    try {
      return stack.endpoints();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Scrapes {@code url} until the metric whose name ends in {@code name} with {@code label} reads
   * {@code expected}; returns the last scrape.
   */
  private static String awaitMetric(String url, String name, String label, long expected)
      throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Pattern line =
        Pattern.compile(
            "(?m)^\\S*" + name + "\\{[^}]*" + Pattern.quote(label) + "[^}]*} ([0-9.E]+)$");
    String body = "";
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      body =
          http.send(
                  HttpRequest.newBuilder(URI.create(url)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      Matcher m = line.matcher(body);
      if (m.find() && (long) Double.parseDouble(m.group(1)) == expected) {
        return body;
      }
      Thread.sleep(500);
    }
    throw new AssertionError(
        name
            + " with "
            + label
            + " never read "
            + expected
            + " at "
            + url
            + ":\n"
            + body.lines()
                .filter(l -> l.contains("operator_streamrag_"))
                .limit(40)
                .reduce("", (a, b) -> a + b + "\n"));
  }

  /** Two clients' percentiles of the same pieces: within 25 ms or 25%. */
  private static void assertAgrees(double reported, double own) {
    assertThat(reported).isCloseTo(own, within(Math.max(25.0, own * 0.25)));
  }

  private static double percentile(List<Double> values, double p) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  /**
   * The test's own Kafka client of the pieces topic, independent of the report's: stamps, per
   * request of the run, when its first text and its END arrived (epoch µs).
   */
  private static final class OwnClient implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, long[]> stamps = new ConcurrentHashMap<>();
    private final Map<String, StreamedAnswer> answers = new HashMap<>();
    private final RecordCodec<AnswerPiece> codec = RecordCodec.of(AnswerPiece.class);
    private final Thread thread;
    private volatile boolean running = true;

    OwnClient(String bootstrap, String prefix) {
      consumer =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                  ConsumerConfig.GROUP_ID_CONFIG, "it-own-client",
                  ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100"),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      List<TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor("rag.pieces")
          .forEach(p -> partitions.add(new TopicPartition("rag.pieces", p.partition())));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position);
      thread =
          new Thread(
              () -> {
                while (running) {
                  var records = consumer.poll(Duration.ofMillis(100));
                  long now = ClientClock.nowMicros();
                  for (var record : records) {
                    AnswerPiece piece = codec.decode(record.value()).value();
                    if (piece == null || !piece.getRequestId().startsWith(prefix)) {
                      continue;
                    }
                    StreamedAnswer.Update update =
                        answers
                            .computeIfAbsent(piece.getRequestId(), StreamedAnswer::new)
                            .offer(piece);
                    long[] stamp = stamps.computeIfAbsent(piece.getRequestId(), id -> new long[2]);
                    if (!update.text().isEmpty() && stamp[0] == 0) {
                      stamp[0] = now;
                    }
                    if (update.end() != null) {
                      stamp[1] = now;
                      if (stamp[0] == 0) {
                        stamp[0] = now;
                      }
                    }
                  }
                }
                consumer.close();
              },
              "it-own-client");
      thread.start();
    }

    /** Its stamps, once every one of {@code ids} has ended, or after {@code timeout}. */
    Map<String, long[]> awaitEnds(Collection<String> ids, Duration timeout)
        throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!ids.stream().allMatch(id -> stamps.containsKey(id) && stamps.get(id)[1] > 0)
          && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      return stamps;
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(10_000);
    }
  }

  private static void assertClose(double reported, double exact) {
    assertThat(reported).isCloseTo(exact, within(exact * 0.002 + 0.01));
  }

  /** Nearest-rank percentile of the raw values, as HdrHistogram defines it. */
  private static double exact(
      List<InferenceResponse> responses, Function<InferenceResponse, Double> value, double p) {
    List<Double> values = new ArrayList<>(responses.stream().map(value).toList());
    Collections.sort(values);
    int rank = (int) Math.ceil(p / 100.0 * values.size());
    return values.get(Math.max(0, Math.min(values.size() - 1, rank - 1)));
  }
}
