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
public final class ReportCharts {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 450;

  private ReportCharts() {}

  static void write(RunReport report, Path dir) throws IOException {
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
    lineChart(
        "Latency over time (by intended send second)",
        "second of run",
        "ms",
        collection(p50, p99),
        dir.resolve("latency-over-time.png"));
    lineChart(
        "Requests per second",
        "second of run",
        "requests",
        collection(offered, answered, good),
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
    lineChart(
        "Latency CDF (OK responses)",
        "ms",
        "share of requests",
        cdf,
        dir.resolve("latency-cdf.png"));
  }

  /** A line chart of {@code data}, legend on, written to {@code file} as a PNG. */
  public static void lineChart(
      String title, String xLabel, String yLabel, XYSeriesCollection data, Path file)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            title, xLabel, yLabel, data, PlotOrientation.VERTICAL, true, false, false);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
  }

  static XYSeriesCollection collection(XYSeries... series) {
    XYSeriesCollection collection = new XYSeriesCollection();
    for (XYSeries s : series) {
      collection.addSeries(s);
    }
    return collection;
  }
}
