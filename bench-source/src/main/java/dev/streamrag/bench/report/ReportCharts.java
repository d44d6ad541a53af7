package dev.streamrag.bench.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The report's PNG charts, drawn headless with JFreeChart. */
final class ReportCharts {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 450;

  private ReportCharts() {}

  static void write(RunReport report, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<RunReport.Second> timeline = report.timeline();

    XYSeries p50 = new XYSeries("e2e p50");
    XYSeries p99 = new XYSeries("e2e p99");
    XYSeries offered = new XYSeries("sent (offered)");
    XYSeries answered = new XYSeries("answered");
    XYSeries good = new XYSeries("good (within SLO)");
    for (RunReport.Second s : timeline) {
      if (!Double.isNaN(s.e2eP50())) {
        p50.add(s.second(), s.e2eP50());
        p99.add(s.second(), s.e2eP99());
      }
      offered.add(s.second(), s.sent());
      answered.add(s.second(), s.answered());
      good.add(s.second(), s.good());
    }
    save(
        ChartFactory.createXYLineChart(
            "Latency over time (by intended send second)",
            "second of run",
            "ms",
            collection(p50, p99),
            PlotOrientation.VERTICAL,
            true,
            false,
            false),
        dir.resolve("latency-over-time.png"));
    save(
        ChartFactory.createXYLineChart(
            "Requests per second",
            "second of run",
            "requests",
            collection(offered, answered, good),
            PlotOrientation.VERTICAL,
            true,
            false,
            false),
        dir.resolve("throughput.png"));

    XYSeriesCollection cdf = new XYSeriesCollection();
    report
        .cdf()
        .forEach(
            (stage, points) -> {
              XYSeries series = new XYSeries(stage);
              points.forEach(p -> series.add(p.millis(), p.share()));
              cdf.addSeries(series);
            });
    save(
        ChartFactory.createXYLineChart(
            "Latency CDF (OK responses)",
            "ms",
            "share of requests",
            cdf,
            PlotOrientation.VERTICAL,
            true,
            false,
            false),
        dir.resolve("latency-cdf.png"));
  }

  private static XYSeriesCollection collection(XYSeries... series) {
    XYSeriesCollection collection = new XYSeriesCollection();
    for (XYSeries s : series) {
      collection.addSeries(s);
    }
    return collection;
  }

  private static void save(JFreeChart chart, Path file) throws IOException {
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
  }
}
