package dev.streamrag.devstack;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.bench.load.Schedule;
import dev.streamrag.bench.report.LatencyReport;
import dev.streamrag.bench.report.ReportSummary;
import dev.streamrag.bench.report.ReportWriter;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;

/** One load scenario on a running stack: the load job with a progress bar, then the report. */
final class ScenarioRun {
  private ScenarioRun() {}

  /** What a run produced: its records and report, and the report's Markdown file. */
  record Result(LatencyReport.Measured measured, Path markdown) {}

  static Result run(LocalStack stack, Map<String, String> settings, PrintStream out)
      throws Exception {
    Configuration bench = stack.benchConfig(settings);
    if (bench.getOptional(BenchOptions.REPORT_FROM).isEmpty()) {
      // The report reads only this run's stretch of the topics, not every earlier run's (a
      // matrix runs several on one stack). A minute's margin, as the report's docs advise.
      bench.set(BenchOptions.REPORT_FROM, Instant.now().minus(Duration.ofMinutes(1)).toString());
    }
    Scenario scenario = Scenario.from(bench);
    Schedule schedule = Schedule.of(scenario);
    int requests = schedule.size();
    out.printf(
        "run %s: %d requests, %s arrivals at %.1f req/s for %s%n",
        scenario.runId(), requests, scenario.arrival(), scenario.rate(), scenario.duration());
    JobID load = stack.startLoad(bench, scenario);
    ProgressBar bar = new ProgressBar(out, scenario.duration());
    JobStatus status;
    while (!(status = stack.status(load)).isGloballyTerminalState()) {
      bar.show(due(schedule, bar.elapsed()) + "/" + requests + " requests sent");
      Thread.sleep(500);
    }
    bar.done();
    if (status != JobStatus.FINISHED) {
      throw new IllegalStateException("the load job ended " + status + "; see the stack's log");
    }
    out.println("collecting responses ...");
    LatencyReport.Measured measured = LatencyReport.measure(bench, scenario, line -> {});
    Path markdown = ReportWriter.write(measured.report(), LatencyReport.folder(bench, scenario));
    out.println(ReportSummary.text(measured.report(), markdown));
    return new Result(measured, markdown);
  }

  /** How many requests the schedule has due by {@code elapsed}. */
  private static int due(Schedule schedule, Duration elapsed) {
    int found = Arrays.binarySearch(schedule.offsetsNanos(), elapsed.toNanos());
    return found >= 0 ? found + 1 : -found - 1;
  }
}
