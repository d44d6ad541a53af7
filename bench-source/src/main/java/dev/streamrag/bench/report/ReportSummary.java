package dev.streamrag.bench.report;

import java.nio.file.Path;
import java.util.Locale;

/** The few lines a terminal shows at the end of a run. */
public final class ReportSummary {
  private ReportSummary() {}

  public static String text(RunReport r, Path markdown) {
    var all = r.latency().get("ALL");
    boolean client = RunReport.CLIENT.equals(r.latencySource());
    LatencyStats.Summary e2e = all == null ? null : all.get(client ? "e2e" : "job_e2e");
    LatencyStats.Summary ttft = all == null ? null : all.get(client ? "ttft" : "job_ttft");
    return String.format(
        Locale.ROOT,
        "run %s: sent %d, answered %d, lost %d | %.1f req/s offered, %.1f req/s answered | goodput %s"
            + " (%.1f req/s) | %s e2e p50 %s ms p99 %s ms | TTFT p50 %s ms p99 %s ms | cache hits %s |"
            + " RAG correct %s%nreport: %s",
        r.runId(),
        r.counts().sent(),
        r.counts().answered(),
        r.counts().lost(),
        r.offeredPerSecond(),
        r.throughputPerSecond(),
        ReportWriter.pct(r.goodput().share()),
        r.goodput().perSecond(),
        client ? "client" : "in-job",
        e2e == null ? "–" : ReportWriter.fmt(e2e.p50()),
        e2e == null ? "–" : ReportWriter.fmt(e2e.p99()),
        ttft == null ? "–" : ReportWriter.fmt(ttft.p50()),
        ttft == null ? "–" : ReportWriter.fmt(ttft.p99()),
        ReportWriter.pct(r.cacheHitRatio()),
        ReportWriter.pct(r.quality().answerAccuracy()),
        markdown.toAbsolutePath());
  }
}
