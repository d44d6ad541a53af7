package dev.streamrag.devstack;

import dev.streamrag.bench.report.LatencyStats;
import dev.streamrag.bench.report.ReportCharts;
import dev.streamrag.bench.report.RunReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Runs scenarios one after another on one stack and writes their comparison. */
final class MatrixRun {
  private final LocalStack stack;
  private final Map<String, String> base;
  private final Path folder;
  private final PrintStream out;
  private final List<Row> rows = new ArrayList<>();

  /** A finished scenario of the matrix. */
  record Row(String name, Map<String, String> settings, RunReport report, Path markdown) {}

  MatrixRun(LocalStack stack, Map<String, String> base, Path results, PrintStream out) {
    this.stack = stack;
    this.base = base;
    this.folder =
        results.resolve(
            "matrix-"
                + ZonedDateTime.now(ZoneOffset.UTC)
                    .format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    this.out = out;
  }

  Row run(Matrix.Entry entry) throws Exception {
    Map<String, String> settings = new LinkedHashMap<>(base);
    settings.putAll(entry.settings());
    settings.put("bench.run-id", folder.getFileName() + "-" + entry.name());
    settings.put("bench.results-dir", folder.toString());
    out.println("\n== " + entry.name() + " " + entry.settings());
    stack.useInferenceSettings(settings);
    ScenarioRun.Result result = ScenarioRun.run(stack, settings, out);
    Row row =
        new Row(entry.name(), entry.settings(), result.measured().report(), result.markdown());
    rows.add(row);
    return row;
  }

  /**
   * Raises the rate until goodput drops below {@code share}; the last rate that met it is the
   * saturation point.
   */
  void saturate(double from, double step, double to, double share) throws Exception {
    for (double rate = from; rate <= to + 1e-9; rate += step) {
      Row row =
          run(
              new Matrix.Entry(
                  String.format(Locale.ROOT, "rate-%.0f", rate),
                  Map.of("bench.rate", String.valueOf(rate))));
      if (row.report().goodput().share() < share) {
        return;
      }
    }
  }

  /** comparison.md and throughput-vs-offered.png; returns the Markdown file. */
  Path write(double saturationShare) throws IOException {
    Files.createDirectories(folder);
    StringBuilder md =
        new StringBuilder("# Scenario comparison ").append(folder.getFileName()).append("\n\n");
    md.append("Settings shared by all: `").append(base).append("`\n\n");
    md.append(
        "Latencies as the client observed them (`e2e`, `TTFT`, `committed`: the final answer"
            + " readable with read_committed; `overhead`: client TTFT − LLM TTFT), in ms.\n\n");
    md.append(
        "| scenario | settings | offered req/s | answered req/s | goodput | goodput req/s | e2e p50 | e2e p99 | TTFT p50 | TTFT p99 | overhead p50 | overhead p99 | committed p50 | committed p99 | TPOT p50 | pieces/answer | output tokens/s | cache hits | RAG correct | lost | report |\n");
    md.append(
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    XYSeries answered = new XYSeries("answered");
    XYSeries good = new XYSeries("goodput");
    Row best = null;
    for (Row row : rows) {
      RunReport r = row.report();
      LatencyStats.Summary e2e = stage(r, "e2e");
      LatencyStats.Summary ttft = stage(r, "ttft");
      LatencyStats.Summary overhead = stage(r, "overhead_ttft");
      LatencyStats.Summary committed = stage(r, "committed");
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | `%s` | %.1f | %.1f | %.1f%% | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f%% | %.1f%% | %d | [report](%s) |%n",
              row.name(),
              row.settings(),
              r.offeredPerSecond(),
              r.throughputPerSecond(),
              r.goodput().share() * 100,
              r.goodput().perSecond(),
              e2e.p50(),
              e2e.p99(),
              ttft.p50(),
              ttft.p99(),
              overhead.p50(),
              overhead.p99(),
              committed.p50(),
              committed.p99(),
              stage(r, "tpot_client").p50(),
              r.streams().piecesPerAnswer(),
              r.outputTokensPerSecond(),
              r.cacheHitRatio() * 100,
              r.quality().answerAccuracy() * 100,
              r.counts().lost(),
              folder.relativize(row.markdown())));
      answered.add(r.offeredPerSecond(), r.throughputPerSecond());
      good.add(r.offeredPerSecond(), r.goodput().perSecond());
      if (!Double.isNaN(saturationShare) && r.goodput().share() >= saturationShare) {
        best = row;
      }
    }
    if (!Double.isNaN(saturationShare)) {
      md.append(
          best == null
              ? String.format(
                  Locale.ROOT,
                  "%nNo rate kept %.0f%% of requests within the SLO.%n",
                  saturationShare * 100)
              : String.format(
                  Locale.ROOT,
                  "%nSaturation: the highest rate with at least %.0f%% of requests within the SLO"
                      + " was **%s** (%.1f req/s offered, goodput %.1f req/s).%n",
                  saturationShare * 100,
                  best.name(),
                  best.report().offeredPerSecond(),
                  best.report().goodput().perSecond()));
    }
    md.append("\n![throughput vs offered load](throughput-vs-offered.png)\n");
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(answered);
    data.addSeries(good);
    ReportCharts.lineChart(
        "Throughput and goodput vs offered load",
        "offered req/s",
        "req/s",
        data,
        folder.resolve("throughput-vs-offered.png"));
    Path file = folder.resolve("comparison.md");
    Files.writeString(file, md.toString());
    return file;
  }

  private static LatencyStats.Summary stage(RunReport r, String stage) {
    Map<String, LatencyStats.Summary> all = r.latency().get("ALL");
    LatencyStats.Summary s = all == null ? null : all.get(stage);
    return s != null
        ? s
        : new LatencyStats.Summary(
            0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }
}
