package dev.streamrag.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.ClientClock;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.TokenUsage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's headline figures come from the client's receipts, the breakdown from the job. */
class RunReportTest {
  private static final Instant T0 = Instant.parse("2026-11-28T12:00:00Z");
  private static final long T0_MICROS = ClientClock.micros(T0);

  private final Scenario scenario =
      Scenario.from(
          JobConfig.load(
              new String[] {"--bench.run-id", "r", "--bench.warmup", "0 s"},
              Map.of(),
              BenchOptions.ALL));
  private final Map<String, InferenceRequest> sent = new LinkedHashMap<>();
  private final Map<String, InferenceResponse> answered = new LinkedHashMap<>();
  private final Receipts receipts = new Receipts();

  @Test
  void clientFiguresAreMeasuredFromTheIntendedSendTimeToWhatTheClientReceived() {
    // Sent at T0; the LLM took 40 ms to its first token; the client got the first text at 70 ms,
    // the END at 300 ms, and the committed answer at 900 ms.
    add("r-1", 0, ResponseStatus.OK, CacheHitKind.NONE, "hello world", 40.0, 11);
    receipts.of("r-1").text(T0_MICROS + 70_000);
    receipts.of("r-1").end(T0_MICROS + 300_000, "OK", "hello world");
    receipts.of("r-1").committed(T0_MICROS + 900_000);

    RunReport report = report();

    Map<String, LatencyStats.Summary> all = report.latency().get("ALL");
    assertThat(report.latencySource()).isEqualTo(RunReport.CLIENT);
    assertThat(all.get("ttft").p50()).isCloseTo(70.0, within(0.1));
    assertThat(all.get("e2e").p50()).isCloseTo(300.0, within(0.3));
    assertThat(all.get("committed").p50()).isCloseTo(900.0, within(1.0));
    assertThat(all.get("overhead_ttft").p50()).isCloseTo(30.0, within(0.1));
    assertThat(all.get("tpot_client").p50()).isCloseTo(23.0, within(0.1)); // 230 ms / 10
    assertThat(all.get("job_e2e").p50())
        .as("the in-job breakdown stays")
        .isCloseTo(18, within(0.1));
    assertThat(report.streams().ended()).isEqualTo(1);
    assertThat(report.streams().mismatched()).isZero();
    assertThat(report.goodput().good()).isEqualTo(1);
  }

  @Test
  void theSloJudgesWhatTheClientSawNotTheJobsOwnFigures() {
    // The job says 18 ms; the client waited 1.5 s for the first text: not good under a 1 s TTFT.
    add("r-1", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);
    receipts.of("r-1").text(T0_MICROS + 1_500_000);
    receipts.of("r-1").end(T0_MICROS + 1_600_000, "OK", "x");

    assertThat(report().goodput().good()).isZero();
  }

  @Test
  void streamProblemsAreCounted() {
    add("ok", 0, ResponseStatus.OK, CacheHitKind.NONE, "right", 10.0, 2);
    receipts.of("ok").end(T0_MICROS + 100_000, "OK", "wrong");
    add("never-ended", 1, ResponseStatus.OK, CacheHitKind.NONE, "text", 10.0, 2);
    add("hit", 2, ResponseStatus.OK, CacheHitKind.RESPONSE, "cached", null, 0);
    receipts.of("hit").text(T0_MICROS + 2_000_000 + 4_000);
    receipts.of("hit").end(T0_MICROS + 2_000_000 + 4_000, "OK", "cached");

    RunReport report = report();

    assertThat(report.streams().mismatched()).isEqualTo(1);
    assertThat(report.streams().incomplete()).isEqualTo(1);
    assertThat(report.latency().get(RunReport.CACHE_HITS).get("e2e").p50())
        .isCloseTo(4.0, within(0.01));
  }

  @Test
  void requestsTheGatewayRefusedCountAsSentAndNeverAsGood() {
    add("ok", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);
    receipts.of("ok").text(T0_MICROS + 50_000);
    receipts.of("ok").end(T0_MICROS + 60_000, "OK", "x");
    // Refused with 429 at the gateway: it never reached Kafka, so only the client knows of it.
    receipts.of("client-7").sent(T0_MICROS + 1_000_000);
    receipts.of("client-7").failed(T0_MICROS + 1_002_000, "REJECTED", "429 too many streams");

    RunReport report = report();

    assertThat(report.counts().sent()).isEqualTo(2);
    assertThat(report.counts().refusedBeforeKafka()).isEqualTo(1);
    assertThat(report.counts().answered()).isEqualTo(1);
    assertThat(report.goodput().share()).isEqualTo(0.5);
    assertThat(report.errorsByCode()).containsEntry("http.429", 1L);
  }

  @Test
  void theIntendedTimeInMicrosecondsBeatsTheMillisecondCreatedAt() {
    add("r-1", 0, ResponseStatus.OK, CacheHitKind.RESPONSE, "x", null, 0);
    sent.get("r-1")
        .setAttributes(
            Map.of(
                RequestFactory.RUN,
                "r",
                RequestFactory.INTENDED_MICROS,
                Long.toString(T0_MICROS + 700)));
    receipts.of("r-1").end(T0_MICROS + 3_000, "OK", "x");

    assertThat(report().latency().get("ALL").get("e2e").p50()).isCloseTo(2.3, within(0.01));
  }

  @Test
  void withoutReceiptsTheReportSaysItsFiguresAreTheJobs() {
    add("r-1", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);

    RunReport report = report(Receipts.none());

    assertThat(report.latencySource()).isEqualTo(RunReport.IN_JOB);
    assertThat(report.latency().get("ALL")).doesNotContainKey("e2e").containsKey("job_e2e");
    assertThat(report.goodput().good()).isEqualTo(1);
  }

  @Test
  void eachPoolIsPricedAsProvisionedForTheRunAndSharedAmongItsRequests(@TempDir Path dir)
      throws IOException {
    Path poolsFile = dir.resolve("pools.yaml");
    Files.writeString(
        poolsFile,
        """
        pools:
          - name: cpu
            hardware: cpu
            instance: {cloud: aws, type: c7i.2xlarge}
            models: [llama-3.2-1b]
            endpoints: [http://llm-cpu-0:8080, http://llm-cpu-1:8080]
          - name: gpu
            hardware: gpu
            instance: {cloud: aws, type: g6.xlarge}
            models: [llama-3.1-8b]
            endpoints: [http://llm-gpu-0:8000]
        """);
    // Two CPU answers (the second too slow for the 1 s TTFT), one GPU answer, one cache hit.
    answer("c1", 0, "cpu", 70, 300);
    answer("c2", 1, "cpu", 1_500, 1_600);
    answer("g1", 2, "gpu", 40, 200);
    add("hit", 3, ResponseStatus.OK, CacheHitKind.RESPONSE, "x", null, 0);
    receipts.of("hit").text(T0_MICROS + 3_000_000 + 5_000);
    receipts.of("hit").end(T0_MICROS + 3_000_000 + 5_000, "OK", "x");

    RunReport report = report(receipts, CostModel.load(null, poolsFile));

    double runSeconds = 3.018; // the first intended send to the last completedAt
    double cpuUsd = 0.357 * 2 * runSeconds / 3600; // two c7i.2xlarge servers
    double gpuUsd = 0.8048 * runSeconds / 3600;
    assertThat(report.byPool()).containsOnlyKeys("cpu", "gpu", PoolTally.NONE);
    RunReport.PoolUse cpu = report.byPool().get("cpu");
    assertThat(List.of(cpu.requests(), cpu.ok(), cpu.good())).containsExactly(2L, 2L, 1L);
    assertThat(cpu.ttftP50()).isCloseTo(70.0, within(0.1));
    assertThat(cpu.e2eP99()).isCloseTo(1_600.0, within(2.0));
    assertThat(cpu.usdPerHour()).isCloseTo(0.714, within(1e-9));
    assertThat(cpu.usdForRun()).isCloseTo(cpuUsd, within(1e-9));
    assertThat(cpu.usdPerRequest()).isCloseTo(cpuUsd / 2, within(1e-9));
    assertThat(cpu.usdPer1kGood()).isCloseTo(cpuUsd * 1000, within(1e-9));
    RunReport.PoolUse gpu = report.byPool().get("gpu");
    assertThat(List.of(gpu.requests(), gpu.ok(), gpu.good())).containsExactly(1L, 1L, 1L);
    assertThat(gpu.usdForRun()).isCloseTo(gpuUsd, within(1e-9));
    assertThat(gpu.usdPer1kGood()).isCloseTo(gpuUsd * 1000, within(1e-9));
    RunReport.PoolUse none = report.byPool().get(PoolTally.NONE);
    assertThat(List.of(none.requests(), none.ok(), none.good())).containsExactly(1L, 1L, 1L);
    assertThat(none.e2eP50()).isCloseTo(5.0, within(0.01));
    assertThat(none.usdPerHour()).isNaN();
    assertThat(none.usdForRun()).isNaN();
    assertThat(report.poolsUsdPer1kGood())
        .as("both pools' cost over all three good requests, the cache hit included")
        .isCloseTo((cpuUsd + gpuUsd) / 3 * 1000, within(1e-9));
    assertThat(ReportWriter.markdown(report))
        .contains("## By LLM pool")
        .contains("| cpu | 2 | 2 | 1 | 300.0 | 1600.5 | 70.0 | 0.7140 |")
        .contains("| none (no LLM call) | 1 | 1 | 1 |");
  }

  @Test
  void withoutAPoolsFileThePoolsAreListedUnpriced() {
    answer("c1", 0, "cpu", 70, 300);

    RunReport report = report();

    assertThat(report.byPool().get("cpu").requests()).isEqualTo(1);
    assertThat(report.byPool().get("cpu").usdPer1kGood()).isNaN();
    assertThat(report.poolsUsdPer1kGood()).isNaN();
  }

  private RunReport report() {
    return report(receipts);
  }

  private RunReport report(Receipts with) {
    return report(with, CostModel.load(null));
  }

  private RunReport report(Receipts with, CostModel prices) {
    return RunReport.of(
        scenario,
        new Slo(1_000, 5_000),
        new RunRecords(sent, answered, 0, 0),
        with,
        List.of(),
        prices);
  }

  /** An OK answer from {@code pool}, which the client saw begin and end at these ms. */
  private void answer(String id, int second, String pool, long ttftMillis, long e2eMillis) {
    add(id, second, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 2);
    answered.get(id).setLlmPool(pool);
    long sentMicros = T0_MICROS + second * 1_000_000L;
    receipts.of(id).text(sentMicros + ttftMillis * 1000);
    receipts.of(id).end(sentMicros + e2eMillis * 1000, "OK", "x");
  }

  private void add(
      String id,
      int second,
      ResponseStatus status,
      CacheHitKind hit,
      String text,
      Double llmTtft,
      int tokens) {
    Instant created = T0.plusSeconds(second);
    sent.put(
        id,
        InferenceRequest.newBuilder()
            .setRequestId(id)
            .setTenantId("acme")
            .setKind(RequestKind.CHAT)
            .setPrompt("q")
            .setCreatedAt(created)
            .setAttributes(Map.of(RequestFactory.RUN, "r"))
            .build());
    StageTimings timings = new StageTimings();
    timings.setTotalMs(18.0);
    timings.setTtftMs(llmTtft);
    timings.setLlmMs(llmTtft == null ? null : llmTtft + 5);
    answered.put(
        id,
        InferenceResponse.newBuilder()
            .setRequestId(id)
            .setTenantId("acme")
            .setStatus(status)
            .setCacheHit(hit)
            .setText(text)
            .setUsage(tokens == 0 ? null : new TokenUsage(5, tokens, null))
            .setTimings(timings)
            .setCreatedAt(created)
            .setCompletedAt(created.plusMillis(18))
            .build());
  }
}
