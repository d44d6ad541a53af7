package dev.streamrag.bench.report;

import dev.streamrag.bench.LatencyStages;
import dev.streamrag.bench.client.Receipt;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Everything the report says about one run, computed from its records: counts (over all and per
 * tenant, with the requests each tenant's quota turned away), latency percentiles per stage and
 * request kind, throughput, goodput under the SLO (over all and by kind), cache hits, answer
 * quality against the demo corpus's ground truth, agent loops (steps, tool calls, where a step's
 * time goes, multi-hop correctness), cost (per instance type, and per LLM pool as provisioned), and
 * a per-second timeline.
 */
public record RunReport(
    String runId,
    Scenario scenario,
    Slo slo,
    String latencySource,
    Counts counts,
    Streams streams,
    Map<String, Long> byStatus,
    Map<String, Long> errorsByCode,
    Map<String, TenantUse> byTenant,
    double offeredPerSecond,
    double throughputPerSecond,
    double outputTokensPerSecond,
    Goodput goodput,
    Map<String, KindGoodput> goodputByKind,
    double cacheHitRatio,
    Quality quality,
    Agents agents,
    Map<String, Map<String, LatencyStats.Summary>> latency,
    Map<String, List<LatencyStats.CdfPoint>> cdf,
    List<Second> timeline,
    List<CostModel.Cost> cost,
    Map<String, PoolUse> byPool,
    double poolsUsdPer1kGood,
    List<String> lostSample) {

  /**
   * @param measured requests sent after the warm-up: the latency, goodput, cache and quality
   *     figures are over these (sent, answered and lost count every request)
   * @param refusedBeforeKafka requests the gateway refused (HTTP 4xx/5xx, or no connection), which
   *     never reached Kafka: counted as sent, never as good
   */
  public record Counts(
      long sent,
      long answered,
      long lost,
      long measured,
      long duplicateRequests,
      long duplicateResponses,
      long refusedBeforeKafka) {}

  /**
   * What the client's receipts say of the piece stream, over answered requests: how many answers it
   * saw end, how many it never saw end (lost on the stream though committed), OK answers whose
   * streamed text differs from the committed text, answers a newer generation contradicted, and how
   * often generations restarted or pieces were replayed.
   */
  public record Streams(
      long ended,
      long incomplete,
      long mismatched,
      long diverged,
      long restarts,
      long replays,
      long committedSeen,
      double piecesPerAnswer) {}

  /**
   * @param share of the requests sent (measured ones; by kind, of those of the kind)
   */
  public record Goodput(long good, double share, double perSecond) {}

  /**
   * Goodput of one request kind: its measured requests sent, the good ones, their share of those
   * sent, and their rate.
   */
  public record KindGoodput(long sent, long good, double share, double perSecond) {}

  /**
   * RAG answers graded against the ground truth: the answer text holds the fact, a citation names
   * the right document.
   */
  public record Quality(
      long graded,
      long correctAnswers,
      double answerAccuracy,
      long retrievalHits,
      double retrievalHitRate) {}

  /**
   * The measured AGENT requests: how their loops ended, their steps and tool calls, where a step's
   * time went, and their answers graded against the multi-hop ground truth (an OK answer is correct
   * when its text holds the question's answer). Null in a run without AGENT requests.
   *
   * @param sent measured AGENT requests sent
   * @param answered of those, answered
   * @param offeredPerSecond AGENT requests offered per second
   * @param steps per answered run (one step: an LLM call and the tool calls it asked for)
   * @param toolCallsPerRun per answered run
   * @param toolErrorShare of the tool calls, those that did not end ok
   * @param toolErrorsByCode the failed calls by code (tool.timeout, tool.unknown, ...)
   * @param replayedSteps steps whose LLM answer a failover took from the journal
   * @param replayedToolCalls tool results a failover took from the journal
   * @param degradedAnswers OK answers given despite failed tool calls
   * @param llmPerStep each step's LLM call, over steps not replayed
   * @param toolPerStep each step's wait for its tool calls, over steps that made a tool call
   * @param overheadPerStep each step's loop overhead (journal, argument checks, bookkeeping)
   */
  public record Agents(
      long sent,
      long answered,
      double offeredPerSecond,
      Map<String, Long> byStatus,
      Map<String, Long> errorsByCode,
      PerRun steps,
      PerRun toolCallsPerRun,
      long toolCalls,
      long toolErrors,
      double toolErrorShare,
      Map<String, Long> toolErrorsByCode,
      Map<String, Long> toolCallsByName,
      long replayedSteps,
      long replayedToolCalls,
      long degradedAnswers,
      PerStep llmPerStep,
      PerStep toolPerStep,
      PerStep overheadPerStep,
      long graded,
      long correctAnswers,
      double answerAccuracy) {}

  /** A count per agent run: over how many runs, its mean, (lower) median and maximum. */
  public record PerRun(long runs, double mean, double p50, long max) {}

  /** A time per agent step in ms: over how many steps, its percentiles and maximum. */
  public record PerStep(long steps, double p50, double p95, double p99, double max) {}

  /** One second of the run (by intended send time): sent, and the e2e latency of those answered. */
  public record Second(
      long second, long sent, long answered, long good, double e2eP50, double e2eP99) {}

  /**
   * The measured responses one LLM pool gave the final answer to (or none, for responses without an
   * LLM call): counts, headline latencies of its OK ones, and the pool priced as provisioned, its
   * servers' hourly price for the run's duration (NaN when the pool is not priced).
   */
  public record PoolUse(
      long requests,
      long ok,
      long good,
      double e2eP50,
      double e2eP99,
      double ttftP50,
      double usdPerHour,
      double usdForRun,
      double usdPerRequest,
      double usdPer1kGood) {}

  /**
   * One tenant's requests over the whole run: sent, answered, answered by status, and the codes of
   * those not OK ({@link #QUOTA_EXCEEDED}: turned away by the tenant's quota in the job).
   */
  public record TenantUse(
      long sent, long answered, Map<String, Long> byStatus, Map<String, Long> errorsByCode) {
    public long count(ResponseStatus status) {
      return byStatus.getOrDefault(status.name(), 0L);
    }

    public long quotaExceeded() {
      return errorsByCode.getOrDefault(QUOTA_EXCEEDED, 0L);
    }
  }

  /**
   * The code of a request the inference job rejected for its tenant's rate or concurrency quota.
   */
  public static final String QUOTA_EXCEEDED = "quota.exceeded";

  /** Where the headline latencies come from. */
  public static final String CLIENT = "client";

  public static final String IN_JOB =
      "in-job (no client receipts: a breakdown, not what a client saw)";

  /** Kinds the latency tables group by, beside ALL and each request kind. */
  public static final String CACHE_HITS = "CACHE_HIT";

  public static RunReport of(
      Scenario scenario,
      Slo slo,
      RunRecords records,
      Receipts receipts,
      List<QaPair> questions,
      List<MultiHopQuestion> multiHopQuestions,
      CostModel prices) {
    boolean client = !receipts.isEmpty();
    Map<String, QaPair> truth = new LinkedHashMap<>();
    questions.forEach(q -> truth.put(q.questionId(), q));
    AgentTally agents = new AgentTally(multiHopQuestions);
    Map<String, Long> sentByKind = new TreeMap<>();
    Map<String, Long> goodByKind = new TreeMap<>();

    long firstIntended = Long.MAX_VALUE;
    long lastIntended = Long.MIN_VALUE;
    for (InferenceRequest request : records.sent().values()) {
      long t = request.getCreatedAt().toEpochMilli();
      firstIntended = Math.min(firstIntended, t);
      lastIntended = Math.max(lastIntended, t);
    }
    long lastCompleted = firstIntended;
    Map<String, Long> byStatus = new TreeMap<>();
    Map<String, Long> errors = new TreeMap<>();
    Map<String, long[]> tenantCounts = new TreeMap<>(); // sent, answered
    Map<String, Map<String, Long>> tenantStatus = new TreeMap<>();
    Map<String, Map<String, Long>> tenantErrors = new TreeMap<>();
    Map<String, Map<String, LatencyStats>> latency = new LinkedHashMap<>();
    Map<Long, List<Observed>> perSecond = new TreeMap<>();
    Map<Long, Long> sentPerSecond = new TreeMap<>();
    long goodCount = 0;
    long cacheHits = 0;
    long ok = 0;
    long outputTokens = 0;
    long graded = 0;
    long correct = 0;
    long retrieved = 0;
    long measuredFrom = firstIntended + scenario.warmup().toMillis();
    long measuredSent = 0;
    long measuredAnswered = 0;
    long[] stream = new long[8];
    PoolTally pools = new PoolTally(prices.pools());
    for (InferenceRequest request : records.sent().values()) {
      tenantCounts.computeIfAbsent(tenantOf(request), t -> new long[2])[0]++;
      sentPerSecond.merge(second(request, firstIntended), 1L, Long::sum);
      if (request.getCreatedAt().toEpochMilli() >= measuredFrom) {
        measuredSent++;
        sentByKind.merge(request.getKind().name(), 1L, Long::sum);
      }
    }
    for (InferenceResponse response : records.answered().values()) {
      InferenceRequest request = records.sent().get(response.getRequestId());
      if (request == null) {
        continue; // answered, but its request was not seen: not part of the run's count
      }
      lastCompleted = Math.max(lastCompleted, response.getCompletedAt().toEpochMilli());
      byStatus.merge(response.getStatus().name(), 1L, Long::sum);
      if (response.getError() != null) {
        errors.merge(response.getError().getCode(), 1L, Long::sum);
      }
      // By the tenant the request was sent as (a rejected response may echo it clipped).
      String tenant = tenantOf(request);
      tenantCounts.computeIfAbsent(tenant, t -> new long[2])[1]++;
      tenantStatus
          .computeIfAbsent(tenant, t -> new TreeMap<>())
          .merge(response.getStatus().name(), 1L, Long::sum);
      if (response.getError() != null) {
        tenantErrors
            .computeIfAbsent(tenant, t -> new TreeMap<>())
            .merge(response.getError().getCode(), 1L, Long::sum);
      }
      Receipt receipt = receipts.get(response.getRequestId());
      ClientLatency observed = ClientLatency.of(request, response, receipt);
      Double[] headline = headline(client, observed, response);
      boolean good = slo.met(response.getStatus(), headline[0], headline[1]);
      perSecond
          .computeIfAbsent(second(request, firstIntended), s -> new ArrayList<>())
          .add(new Observed(response.getStatus() == ResponseStatus.OK ? headline[1] : null, good));
      if (request.getCreatedAt().toEpochMilli() < measuredFrom) {
        continue; // warm-up: counted as answered above, left out of the statistics below
      }
      measuredAnswered++;
      countStream(stream, response, receipt);
      pools.add(
          response.getLlmPool(),
          response.getStatus() == ResponseStatus.OK,
          good,
          headline[1],
          headline[0]);
      if (response.getCacheHit() == CacheHitKind.RESPONSE) {
        cacheHits++;
      }
      if (good) {
        goodCount++;
        goodByKind.merge(request.getKind().name(), 1L, Long::sum);
      }
      String questionId = request.getAttributes().get(RequestFactory.QUESTION);
      if (request.getKind() == RequestKind.AGENT) {
        agents.add(response, questionId);
      }
      if (response.getStatus() == ResponseStatus.OK) {
        ok++;
        if (response.getUsage() != null) {
          outputTokens += response.getUsage().getCompletionTokens();
        }
        List<String> kinds = new ArrayList<>(List.of("ALL", response.getKind().name()));
        if (response.getCacheHit() == CacheHitKind.RESPONSE) {
          kinds.add(CACHE_HITS);
        }
        for (String kind : kinds) {
          Map<String, LatencyStats> stats =
              latency.computeIfAbsent(kind, k -> new LinkedHashMap<>());
          for (String stage : LatencyStages.CLIENT) {
            record(stats, stage, observed.stage(stage));
          }
          if (response.getTimings() != null) {
            LatencyStages.JOB.forEach(
                (stage, read) -> record(stats, stage, read.apply(response.getTimings())));
          }
        }
        // bench.question names a QaPair for RAG, a multi-hop question for AGENT (graded above).
        QaPair qa = request.getKind() == RequestKind.RAG ? truth.get(questionId) : null;
        if (qa != null) {
          graded++;
          String text = response.getText() == null ? "" : response.getText();
          if (text.toLowerCase(Locale.ROOT).contains(qa.answer().toLowerCase(Locale.ROOT))) {
            correct++;
          }
          for (Citation citation : response.getCitations()) {
            if (citation.getDocId().equals(qa.docId())) {
              retrieved++;
              break;
            }
          }
        }
      }
    }
    // Under HTTP load, what the gateway refused never reached Kafka: it was sent all the same.
    long refused = 0;
    for (Receipt receipt : receipts.all()) {
      if (receipt.error() != null && !records.sent().containsKey(receipt.requestId())) {
        refused++;
        byStatus.merge(receipt.status() == null ? "ERROR" : receipt.status(), 1L, Long::sum);
        errors.merge("http." + receipt.error().split(" ", 2)[0], 1L, Long::sum);
        if (receipt.sentMicros() / 1000 >= measuredFrom) {
          measuredSent++;
        }
      }
    }
    double sendSeconds = Math.max(1e-3, (lastIntended - measuredFrom) / 1000.0);
    double runSeconds = Math.max(1e-3, (lastCompleted - measuredFrom) / 1000.0);
    long answered = byStatus.values().stream().mapToLong(Long::longValue).sum() - refused;
    List<String> lost = records.lost();

    List<Second> timeline = new ArrayList<>();
    for (Map.Entry<Long, Long> entry : sentPerSecond.entrySet()) {
      List<Observed> done = perSecond.getOrDefault(entry.getKey(), List.of());
      LatencyStats e2e = new LatencyStats();
      long goodThisSecond = 0;
      for (Observed observed : done) {
        if (observed.e2e() != null) {
          e2e.record(observed.e2e());
        }
        if (observed.good()) {
          goodThisSecond++;
        }
      }
      timeline.add(
          new Second(
              entry.getKey(),
              entry.getValue(),
              done.size(),
              goodThisSecond,
              e2e.percentile(50),
              e2e.percentile(99)));
    }

    Map<String, Map<String, LatencyStats.Summary>> summaries = new LinkedHashMap<>();
    latency.forEach(
        (kind, stages) -> {
          Map<String, LatencyStats.Summary> bySt = new LinkedHashMap<>();
          stages.forEach((stage, stats) -> bySt.put(stage, stats.summary()));
          summaries.put(kind, bySt);
        });
    // The distributions the CDF chart draws: all OK responses, end to end and to first token.
    Map<String, List<LatencyStats.CdfPoint>> cdf = new LinkedHashMap<>();
    Map<String, LatencyStats> all = latency.getOrDefault("ALL", Map.of());
    for (String stage : client ? List.of("e2e", "ttft") : List.of("job_e2e", "job_ttft")) {
      if (all.containsKey(stage)) {
        cdf.put(stage, all.get(stage).cdf());
      }
    }
    long sent = records.sent().size() + refused;
    Map<String, TenantUse> byTenant = new LinkedHashMap<>();
    tenantCounts.forEach(
        (tenant, n) ->
            byTenant.put(
                tenant,
                new TenantUse(
                    n[0],
                    n[1],
                    tenantStatus.getOrDefault(tenant, Map.of()),
                    tenantErrors.getOrDefault(tenant, Map.of()))));
    Map<String, PoolUse> byPool = pools.uses(runSeconds);
    // By the kind each request was sent as; requests the gateway refused never had one here.
    Map<String, KindGoodput> goodputByKind = new LinkedHashMap<>();
    sentByKind.forEach(
        (kind, n) -> {
          long good = goodByKind.getOrDefault(kind, 0L);
          goodputByKind.put(kind, new KindGoodput(n, good, (double) good / n, good / runSeconds));
        });
    return new RunReport(
        scenario.runId(),
        scenario,
        slo,
        client ? CLIENT : IN_JOB,
        new Counts(
            sent,
            answered,
            lost.size(),
            measuredSent,
            records.duplicateRequests(),
            records.duplicateResponses(),
            refused),
        new Streams(
            stream[0],
            stream[1],
            stream[2],
            stream[3],
            stream[4],
            stream[5],
            stream[6],
            stream[0] == 0 ? Double.NaN : (double) stream[7] / stream[0]),
        byStatus,
        errors,
        byTenant,
        measuredSent / sendSeconds,
        measuredAnswered / runSeconds,
        outputTokens / runSeconds,
        new Goodput(
            goodCount,
            measuredSent == 0 ? 0 : (double) goodCount / measuredSent,
            goodCount / runSeconds),
        goodputByKind,
        measuredAnswered == 0 ? 0 : (double) cacheHits / measuredAnswered,
        new Quality(
            graded,
            correct,
            graded == 0 ? Double.NaN : (double) correct / graded,
            retrieved,
            graded == 0 ? Double.NaN : (double) retrieved / graded),
        agents.agents(sentByKind.getOrDefault(RequestKind.AGENT.name(), 0L), sendSeconds),
        summaries,
        cdf,
        timeline,
        prices.price(ok / runSeconds, outputTokens / runSeconds),
        byPool,
        PoolTally.usdPer1kGood(byPool, goodCount),
        lost.subList(0, Math.min(20, lost.size())));
  }

  /**
   * One answered request's place on the timeline: its headline e2e (OK answers only, as in the
   * percentile tables), and whether it was good.
   */
  private record Observed(Double e2e, boolean good) {}

  /**
   * The TTFT and e2e that count for the SLO and the timeline: what the client observed, or, for a
   * report without receipts, the job's own figures.
   */
  private static Double[] headline(
      boolean client, ClientLatency observed, InferenceResponse response) {
    if (client) {
      return new Double[] {observed.ttft(), observed.e2e()};
    }
    if (response.getTimings() == null) {
      return new Double[] {null, null};
    }
    return new Double[] {
      LatencyStages.jobTtft(response.getTimings()), response.getTimings().getTotalMs()
    };
  }

  private static void countStream(long[] stream, InferenceResponse response, Receipt receipt) {
    if (receipt == null || receipt.endMicros() == 0) {
      stream[1]++;
      return;
    }
    stream[0]++;
    if (response.getStatus() == ResponseStatus.OK
        && !Objects.equals(receipt.text(), response.getText())) {
      stream[2]++;
    }
    if (receipt.diverged()) {
      stream[3]++;
    }
    stream[4] += receipt.restarts();
    stream[5] += receipt.replays();
    if (receipt.committedMicros() > 0) {
      stream[6]++;
    }
    stream[7] += receipt.pieces();
  }

  private static void record(Map<String, LatencyStats> stats, String stage, Double value) {
    if (value != null) {
      stats.computeIfAbsent(stage, s -> new LatencyStats()).record(value);
    }
  }

  private static String tenantOf(InferenceRequest request) {
    return request.getTenantId() == null ? "(none)" : request.getTenantId();
  }

  private static long second(InferenceRequest request, long firstIntended) {
    return (request.getCreatedAt().toEpochMilli() - firstIntended) / 1000;
  }
}
