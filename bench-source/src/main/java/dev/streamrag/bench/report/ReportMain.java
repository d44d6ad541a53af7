package dev.streamrag.bench.report;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;

/**
 * Writes the report of a finished run: {@code --config scenario.yaml --bench.run-id ID} with the
 * same scenario the load job ran (the report recomputes its schedule and questions from it).
 */
public final class ReportMain {
  private ReportMain() {}

  public static void main(String[] args) throws Exception {
    Configuration config = JobConfig.load(args, System.getenv(), BenchOptions.ALL);
    if (config.getOptional(BenchOptions.RUN_ID).isEmpty()) {
      System.err.println("--bench.run-id is required: the run whose report to write");
      System.exit(2);
    }
    Scenario scenario = Scenario.from(config);
    if (config.getOptional(BenchOptions.REPORT_FROM).isEmpty()) {
      System.err.println(
          "reading the topics from their beginning; --bench.report-from <the run's start, UTC>"
              + " skips older traffic");
    }
    RunReport report = LatencyReport.measure(config, scenario, System.err::println).report();
    Path markdown = ReportWriter.write(report, LatencyReport.folder(config, scenario));
    System.out.println(ReportSummary.text(report, markdown));
  }
}
