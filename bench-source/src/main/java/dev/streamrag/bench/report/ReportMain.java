package dev.streamrag.bench.report;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;

/**
 * Writes the report of a finished run: {@code --config scenario.yaml --bench.run-id ID} with the
 * same scenario the load job ran (the report recomputes its schedule and questions from it). The
 * client-side figures come from the run's {@code receipts.jsonl} in its results folder, written by
 * the client that ran the load; without it the report has in-job figures only.
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
    // What the run's client received, if it saved its receipts there (./streamrag run does).
    Path receiptsFile = LatencyReport.folder(config, scenario).resolve(Receipts.FILE);
    Receipts receipts = Receipts.none();
    if (Files.exists(receiptsFile)) {
      receipts = Receipts.read(receiptsFile);
    } else {
      System.err.println(
          "no "
              + receiptsFile
              + ": the report can only show the job's own (in-job) figures, not what a client saw");
    }
    RunReport report =
        LatencyReport.measure(config, scenario, receipts, System.err::println).report();
    Path markdown = ReportWriter.write(report, LatencyReport.folder(config, scenario));
    System.out.println(ReportSummary.text(report, markdown));
  }
}
