package dev.streamrag.bench.report;

import dev.streamrag.bench.LatencyStages;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the report says about one run, computed from its records: counts, latency percentiles
 * per stage and request kind, throughput, goodput under the SLO, cache hits, answer quality against
 * the demo corpus's ground truth, cost, and a per-second timeline.
 */
public record RunReport(
    String runId,
    Scenario scenario,
    Slo slo,
    Counts counts,
    Map<String, Long> byStatus,
    Map<String, Long> errorsByCode,
    double offeredPerSecond,
    double throughputPerSecond,
    double outputTokensPerSecond,
    Goodput goodput,
    double cacheHitRatio,
    Quality quality,
    Map<String, Map<String, LatencyStats.Summary>> latency,
    Map<String, List<LatencyStats.CdfPoint>> cdf,
    List<Second> timeline,
    List<CostModel.Cost> cost,
    List<String> lostSample) {

  /**
   * @param measured requests sent after the warm-up: the latency, goodput, cache and quality
   *     figures are over these (sent, answered and lost count every request)
   */
  public record Counts(
      long sent,
      long answered,
      long lost,
      long measured,
      long duplicateRequests,
      long duplicateResponses) {}

  public record Goodput(long good, double share, double perSecond) {}

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

  /** One second of the run (by intended send time): sent, and the e2e latency of those answered. */
  public record Second(
      long second, long sent, long answered, long good, double e2eP50, double e2eP99) {}

  public static RunReport of(
      Scenario scenario, Slo slo, RunRecords records, List<QaPair> questions, CostModel prices) {
    Map<String, QaPair> truth = new LinkedHashMap<>();
    questions.forEach(q -> truth.put(q.questionId(), q));

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
    Map<String, Map<String, LatencyStats>> latency = new LinkedHashMap<>();
    Map<Long, List<InferenceResponse>> perSecond = new TreeMap<>();
    Map<Long, Long> sentPerSecond = new TreeMap<>();
    long good = 0;
    long cacheHits = 0;
    long ok = 0;
    long outputTokens = 0;
    long graded = 0;
    long correct = 0;
    long retrieved = 0;
    long measuredFrom = firstIntended + scenario.warmup().toMillis();
    long measuredSent = 0;
    long measuredAnswered = 0;
    for (InferenceRequest request : records.sent().values()) {
      sentPerSecond.merge(second(request, firstIntended), 1L, Long::sum);
      if (request.getCreatedAt().toEpochMilli() >= measuredFrom) {
        measuredSent++;
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
      perSecond
          .computeIfAbsent(second(request, firstIntended), s -> new ArrayList<>())
          .add(response);
      if (request.getCreatedAt().toEpochMilli() < measuredFrom) {
        continue; // warm-up: counted as answered above, left out of the statistics below
      }
      measuredAnswered++;
      if (response.getCacheHit() == CacheHitKind.RESPONSE) {
        cacheHits++;
      }
      if (slo.met(response)) {
        good++;
      }
      if (response.getStatus() == ResponseStatus.OK) {
        ok++;
        if (response.getUsage() != null) {
          outputTokens += response.getUsage().getCompletionTokens();
        }
        if (response.getTimings() != null) {
          for (String kind : List.of("ALL", response.getKind().name())) {
            Map<String, LatencyStats> stats =
                latency.computeIfAbsent(kind, k -> new LinkedHashMap<>());
            LatencyStages.ALL.forEach(
                (stage, read) -> {
                  Double value = read.apply(response.getTimings());
                  if (value != null) {
                    stats.computeIfAbsent(stage, s -> new LatencyStats()).record(value);
                  }
                });
          }
        }
        QaPair qa = truth.get(request.getAttributes().get(RequestFactory.QUESTION));
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
    double sendSeconds = Math.max(1e-3, (lastIntended - measuredFrom) / 1000.0);
    double runSeconds = Math.max(1e-3, (lastCompleted - measuredFrom) / 1000.0);
    long answered = byStatus.values().stream().mapToLong(Long::longValue).sum();
    List<String> lost = records.lost();

    List<Second> timeline = new ArrayList<>();
    for (Map.Entry<Long, Long> entry : sentPerSecond.entrySet()) {
      List<InferenceResponse> done = perSecond.getOrDefault(entry.getKey(), List.of());
      LatencyStats e2e = new LatencyStats();
      long goodThisSecond = 0;
      for (InferenceResponse response : done) {
        if (response.getTimings() != null) {
          e2e.record(Slo.e2e(response.getTimings()));
        }
        if (slo.met(response)) {
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
    for (String stage : List.of("e2e", "ttft_client")) {
      if (all.containsKey(stage)) {
        cdf.put(stage, all.get(stage).cdf());
      }
    }
    long sent = records.sent().size();
    return new RunReport(
        scenario.runId(),
        scenario,
        slo,
        new Counts(
            sent,
            answered,
            lost.size(),
            measuredSent,
            records.duplicateRequests(),
            records.duplicateResponses()),
        byStatus,
        errors,
        measuredSent / sendSeconds,
        measuredAnswered / runSeconds,
        outputTokens / runSeconds,
        new Goodput(good, measuredSent == 0 ? 0 : (double) good / measuredSent, good / runSeconds),
        measuredAnswered == 0 ? 0 : (double) cacheHits / measuredAnswered,
        new Quality(
            graded,
            correct,
            graded == 0 ? Double.NaN : (double) correct / graded,
            retrieved,
            graded == 0 ? Double.NaN : (double) retrieved / graded),
        summaries,
        cdf,
        timeline,
        prices.price(ok / runSeconds, outputTokens / runSeconds),
        lost.subList(0, Math.min(20, lost.size())));
  }

  private static long second(InferenceRequest request, long firstIntended) {
    return (request.getCreatedAt().toEpochMilli() - firstIntended) / 1000;
  }
}
