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
            + " RAG correct %s%s%s%nreport: %s",
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
        agents(r),
        quota(r),
        markdown.toAbsolutePath());
  }

  /** Requests turned away by their tenant's quota, per tenant; empty if none was. */
  static String quota(RunReport r) {
    StringBuilder line = new StringBuilder();
    long total = 0;
    for (var tenant : r.byTenant().entrySet()) {
      long n = tenant.getValue().quotaExceeded();
      if (n > 0) {
        total += n;
        line.append(line.length() == 0 ? "" : ", ").append(tenant.getKey()).append(' ').append(n);
      }
    }
    return total == 0 ? "" : " | over quota " + total + " (" + line + ")";
  }

  /** The agents' part of the line, empty without AGENT requests. */
  static String agents(RunReport r) {
    RunReport.Agents a = r.agents();
    if (a == null) {
      return "";
    }
    RunReport.KindGoodput good = r.goodputByKind().get("AGENT");
    return String.format(
        Locale.ROOT,
        " | AGENT %d: correct %s, goodput %s, %s steps/run, tool errors %s, loop overhead/step p99"
            + " %s ms",
        a.sent(),
        ReportWriter.pct(a.answerAccuracy()),
        ReportWriter.pct(good == null ? Double.NaN : good.share()),
        a.steps().runs() == 0 ? "–" : String.format(Locale.ROOT, "%.1f", a.steps().mean()),
        ReportWriter.pct(a.toolErrorShare()),
        ReportWriter.fmt(a.overheadPerStep().p99()));
  }
}
