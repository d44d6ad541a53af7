package dev.streamrag.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.ClientClock;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.schemas.AgentRun;
import dev.streamrag.schemas.AgentStep;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.ErrorDetail;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.TokenUsage;
import dev.streamrag.schemas.ToolCallOutcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
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
  private final List<MultiHopQuestion> multiHop = new ArrayList<>();

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
  void quotaRejectionsAreCountedPerTenant() {
    add("q-1", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);
    for (int i = 0; i < 3; i++) {
      add("n-" + i, 0, ResponseStatus.REJECTED, CacheHitKind.NONE, null, null, 0);
      sent.get("n-" + i).setTenantId("noisy");
      answered.get("n-" + i).setTenantId("noisy");
      answered
          .get("n-" + i)
          .setError(
              ErrorDetail.newBuilder()
                  .setCode("quota.exceeded")
                  .setMessage(
                      "over this tenant's rate quota of 4 requests/s (burst 4): retry later")
                  .setStage("quota")
                  .setRetryable(true)
                  .build());
    }
    add("n-3", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);
    sent.get("n-3").setTenantId("noisy");
    add("n-lost", 0, ResponseStatus.OK, CacheHitKind.NONE, "x", 10.0, 1);
    sent.get("n-lost").setTenantId("noisy");
    answered.remove("n-lost");

    RunReport report = report(Receipts.none());

    assertThat(report.byTenant()).containsOnlyKeys("acme", "noisy");
    RunReport.TenantUse noisy = report.byTenant().get("noisy");
    assertThat(noisy.sent()).isEqualTo(5);
    assertThat(noisy.answered()).isEqualTo(4);
    assertThat(noisy.count(ResponseStatus.OK)).isEqualTo(1);
    assertThat(noisy.count(ResponseStatus.REJECTED)).isEqualTo(3);
    assertThat(noisy.quotaExceeded()).isEqualTo(3);
    assertThat(report.byTenant().get("acme").quotaExceeded()).isZero();
    assertThat(report.errorsByCode()).containsEntry("quota.exceeded", 3L);
    assertThat(ReportWriter.markdown(report))
        .contains("## By tenant")
        .contains("| acme | 1 | 1 | 1 | 0 | 0 | – |")
        .contains("| noisy | 5 | 4 | 1 | 3 | 3 | quota.exceeded 3 |");
    assertThat(ReportSummary.quota(report)).isEqualTo(" | over quota 3 (noisy 3)");
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

  @Test
  void agentRunsAreReportedByStepToolCallAndGroundTruth() {
    multiHop.add(new MultiHopQuestion("mh-000001", "acme", "combined?", "1234 km", List.of()));
    multiHop.add(new MultiHopQuestion("mh-000002", "acme", "how many more?", "56", List.of()));
    // Right: three tool calls, four steps, seen by the client at 700 ms (first text) and 800 ms.
    agent(
        "a1",
        0,
        ResponseStatus.OK,
        "The answer is 1234 km.",
        "mh-000001",
        step(100, 20, 2, call("lookup_entity", 20)),
        step(110, 30, 3, call("lookup_entity", 30)),
        step(120, 5, 4, call("compute", 5)),
        step(130, 0, 15));
    receipts.of("a1").text(T0_MICROS + 700_000);
    receipts.of("a1").end(T0_MICROS + 800_000, "OK", "The answer is 1234 km.");
    // Wrong, after a lookup that timed out: OK but degraded, and too slow for the SLO.
    agent(
        "a2",
        1,
        ResponseStatus.OK,
        "The answer is 55.",
        "mh-000002",
        step(200, 1000, 5, failed("lookup_entity", "tool.timeout", 1000)),
        step(150, 0, 6));
    answered.get("a2").setDegraded(List.of("tool.timeout"));
    receipts.of("a2").text(T0_MICROS + 1_000_000 + 1_500_000);
    receipts.of("a2").end(T0_MICROS + 1_000_000 + 1_600_000, "OK", "The answer is 55.");
    // Out of steps after a failover: the first step and its call came from the journal.
    AgentStep replayed = step(0, 0, 1, call("lookup_entity", 0));
    replayed.setReplayed(true);
    replayed.getToolCalls().get(0).setReplayed(true);
    agent(
        "a3",
        2,
        ResponseStatus.ERROR,
        null,
        "mh-000001",
        replayed,
        step(90, 40, 2, call("lookup_entity", 40)),
        step(95, 0, 3));
    answered.get("a3").setError(new ErrorDetail("agent.max_steps", "out of steps", "agent", false));
    // Refused before any step: no agent record.
    agent("a4", 3, ResponseStatus.REJECTED, null, "mh-000002");
    answered.get("a4").setAgent(null);
    answered
        .get("a4")
        .setError(new ErrorDetail("validation.unknown_tool", "no such tool", "validate", false));
    // A CHAT answer beside them, good.
    answer("c1", 3, "default", 50, 200);

    RunReport report = report();
    RunReport.Agents a = report.agents();

    assertThat(List.of(a.sent(), a.answered())).containsExactly(4L, 4L);
    assertThat(a.byStatus())
        .containsOnly(Map.entry("ERROR", 1L), Map.entry("OK", 2L), Map.entry("REJECTED", 1L));
    assertThat(a.errorsByCode())
        .containsOnly(Map.entry("agent.max_steps", 1L), Map.entry("validation.unknown_tool", 1L));
    assertThat(a.steps()).isEqualTo(new RunReport.PerRun(3, 3.0, 3, 4));
    assertThat(a.toolCallsPerRun()).isEqualTo(new RunReport.PerRun(3, 2.0, 2, 3));
    assertThat(List.of(a.toolCalls(), a.toolErrors())).containsExactly(6L, 1L);
    assertThat(a.toolErrorShare()).isCloseTo(1 / 6.0, within(1e-9));
    assertThat(a.toolErrorsByCode()).containsOnly(Map.entry("tool.timeout", 1L));
    assertThat(a.toolCallsByName())
        .containsOnly(Map.entry("lookup_entity", 5L), Map.entry("compute", 1L));
    assertThat(List.of(a.replayedSteps(), a.replayedToolCalls(), a.degradedAnswers()))
        .containsExactly(1L, 1L, 1L);
    // LLM: 8 steps not replayed (90 … 200); tools: 5 steps that made a call (5, 20, 30, 40, 1000);
    // overhead: all 9 steps (1, 2, 2, 3, 3, 4, 5, 6, 15).
    assertThat(a.llmPerStep().steps()).isEqualTo(8);
    assertThat(a.llmPerStep().p50()).isCloseTo(110, within(0.1));
    assertThat(a.llmPerStep().p99()).isCloseTo(200, within(0.2));
    assertThat(a.toolPerStep().steps()).isEqualTo(5);
    assertThat(a.toolPerStep().p50()).isCloseTo(30, within(0.1));
    assertThat(a.toolPerStep().max()).isCloseTo(1000, within(1.0));
    assertThat(a.overheadPerStep().steps()).isEqualTo(9);
    assertThat(a.overheadPerStep().p50()).isCloseTo(3, within(0.01));
    assertThat(a.overheadPerStep().p95()).isCloseTo(15, within(0.02));
    assertThat(a.overheadPerStep().p99()).isCloseTo(15, within(0.02));
    assertThat(List.of(a.graded(), a.correctAnswers())).containsExactly(2L, 1L);
    assertThat(a.answerAccuracy()).isEqualTo(0.5);
    // Goodput by kind: one AGENT of four within the SLO, the CHAT one too.
    assertThat(report.goodputByKind().get("AGENT"))
        .isEqualTo(
            new RunReport.KindGoodput(4, 1, 0.25, report.goodputByKind().get("AGENT").perSecond()));
    assertThat(report.goodputByKind().get("CHAT").share()).isEqualTo(1.0);
    assertThat(report.goodput().good()).isEqualTo(2);
    // The client's end to end of OK agents, in the latency table by kind; the loop's breakdown.
    Map<String, LatencyStats.Summary> agents = report.latency().get("AGENT");
    assertThat(agents.get("e2e").count()).isEqualTo(2);
    assertThat(agents.get("tool").p50()).isCloseTo(55, within(0.1));
    assertThat(agents.get("agent_overhead").max()).isCloseTo(24, within(0.1));
    assertThat(report.quality().graded()).as("RAG grading leaves agents alone").isZero();

    String markdown = ReportWriter.markdown(report);
    assertThat(markdown)
        .contains("| AGENT answers with the multi-hop answer | 1/2 = 50.0% |")
        .contains("| AGENT | 4 | 1 | 25.0% |")
        .contains("## Agents")
        .contains("| status | ERROR 1, OK 2, REJECTED 1 |")
        .contains("| steps per run: mean / p50 / max | 3.00 / 3.0 / 4 |")
        .contains("| tool calls that failed | 1/6 = 16.7% (tool.timeout 1) |")
        .contains("| replayed after a failover: steps / tool calls | 1 / 1 |")
        .contains("| loop overhead (every step) | 9 | 3.0 | 15.0 | 15.0 | 15.0 |")
        .contains("| end to end, as the client saw it (OK): p50 / p99 | 800.3 / 1600.5 ms |");
    assertThat(ReportSummary.agents(report))
        .isEqualTo(
            " | AGENT 4: correct 50.0%, goodput 25.0%, 3.0 steps/run, tool errors 16.7%, loop"
                + " overhead/step p99 15.0 ms");
  }

  @Test
  void aRunWithoutAgentsHasNoAgentSection() {
    answer("c1", 0, "default", 50, 200);

    RunReport report = report();

    assertThat(report.agents()).isNull();
    assertThat(ReportWriter.markdown(report))
        .doesNotContain("## Agents")
        .doesNotContain("multi-hop")
        .doesNotContain("| AGENT |");
    assertThat(ReportSummary.agents(report)).isEmpty();
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
        multiHop,
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

  /** An AGENT response asking {@code questionId}, with these steps (tokens: one per step). */
  private void agent(
      String id,
      int second,
      ResponseStatus status,
      String text,
      String questionId,
      AgentStep... steps) {
    add(id, second, status, CacheHitKind.NONE, text, 30.0, Math.max(1, steps.length));
    sent.get(id).setKind(RequestKind.AGENT);
    sent.get(id)
        .setAttributes(Map.of(RequestFactory.RUN, "r", RequestFactory.QUESTION, questionId));
    InferenceResponse response = answered.get(id);
    response.setKind(RequestKind.AGENT);
    response.setAgent(new AgentRun(List.of(steps)));
    double tool = 0;
    double overhead = 0;
    for (AgentStep step : steps) {
      tool += step.getToolMs();
      overhead += step.getOverheadMs();
    }
    response.getTimings().setToolMs(tool);
    response.getTimings().setAgentOverheadMs(overhead);
  }

  private static AgentStep step(
      double llmMs, double toolMs, double overheadMs, ToolCallOutcome... calls) {
    return AgentStep.newBuilder()
        .setLlmMs(llmMs)
        .setToolMs(toolMs)
        .setOverheadMs(overheadMs)
        .setToolCalls(new ArrayList<>(List.of(calls)))
        .build();
  }

  private static ToolCallOutcome call(String name, double ms) {
    return ToolCallOutcome.newBuilder().setName(name).setOk(true).setMs(ms).build();
  }

  private static ToolCallOutcome failed(String name, String code, double ms) {
    return ToolCallOutcome.newBuilder()
        .setName(name)
        .setOk(false)
        .setErrorCode(code)
        .setMs(ms)
        .build();
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
