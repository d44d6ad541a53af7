package dev.streamrag.devstack;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.HttpLoadClient;
import dev.streamrag.bench.client.KafkaReceivers;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.bench.load.Schedule;
import dev.streamrag.bench.report.LatencyReport;
import dev.streamrag.bench.report.ReportSummary;
import dev.streamrag.bench.report.ReportWriter;
import dev.streamrag.jobs.config.KafkaClients;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;

/**
 * One load scenario on a running stack: the load with a progress bar, received by a client that
 * stamps every answer as it arrives, then the report. Under {@code bench.target KAFKA} the load job
 * produces the requests and this client follows the pieces topic; under {@code GATEWAY} this client
 * POSTs them to the gateway and reads the SSE streams. Either way it also follows the committed
 * responses, for when each final answer became readable.
 */
final class ScenarioRun {
  private ScenarioRun() {}

  /** What a run produced: its records and report, and the report's Markdown file. */
  record Result(LatencyReport.Measured measured, Path markdown, Receipts receipts) {}

  static Result run(LocalStack stack, Map<String, String> settings, PrintStream out)
      throws Exception {
    Configuration bench = stack.benchConfig(settings);
    if (bench.getOptional(BenchOptions.REPORT_FROM).isEmpty()) {
      // The report reads only this run's stretch of the topics, not every earlier run's (a
      // matrix runs several on one stack). A minute's margin, as the report's docs advise.
      bench.set(BenchOptions.REPORT_FROM, Instant.now().minus(Duration.ofMinutes(1)).toString());
    }
    Scenario scenario = Scenario.from(bench);
    LatencyReport.costModel(bench); // a bad price table or pools file fails now, not after the run
    Schedule schedule = Schedule.of(scenario);
    int requests = schedule.size();
    boolean gateway = bench.get(BenchOptions.TARGET) == BenchOptions.Target.GATEWAY;
    out.printf(
        "run %s: %d requests, %s arrivals at %.1f req/s for %s, to %s%n",
        scenario.runId(),
        requests,
        scenario.arrival(),
        scenario.rate(),
        scenario.duration(),
        gateway ? "the gateway" : "Kafka");
    Receipts receipts = new Receipts();
    String ids = scenario.runId() + "-";
    LatencyReport.Measured measured;
    try (KafkaReceivers receivers =
        new KafkaReceivers(
                KafkaClients.from(bench),
                gateway ? null : bench.get(BenchOptions.PIECES_TOPIC),
                bench.get(BenchOptions.RESPONSES_TOPIC),
                id -> id.startsWith(ids),
                scenario.runId(),
                receipts)
            .start()) {
      if (gateway) {
        sendToGateway(bench, scenario, schedule, receipts, out);
      } else {
        sendThroughKafka(stack, bench, scenario, schedule, out);
      }
      out.println("collecting responses ...");
      measured = LatencyReport.measure(bench, scenario, receipts, line -> {});
      if (receivers.failure() != null) {
        throw new IllegalStateException("the client's receiver failed", receivers.failure());
      }
    }
    Path folder = LatencyReport.folder(bench, scenario);
    Path markdown = ReportWriter.write(measured.report(), folder);
    receipts.write(folder.resolve(Receipts.FILE));
    out.println(ReportSummary.text(measured.report(), markdown));
    return new Result(measured, markdown, receipts);
  }

  /** The load job produces the schedule to the requests topic. */
  private static void sendThroughKafka(
      LocalStack stack, Configuration bench, Scenario scenario, Schedule schedule, PrintStream out)
      throws Exception {
    JobID load = stack.startLoad(bench, scenario);
    ProgressBar bar = new ProgressBar(out, scenario.duration());
    JobStatus status;
    while (!(status = stack.status(load)).isGloballyTerminalState()) {
      bar.show(due(schedule, bar.elapsed()) + "/" + schedule.size() + " requests sent");
      Thread.sleep(500);
    }
    bar.done();
    if (status != JobStatus.FINISHED) {
      throw new IllegalStateException("the load job ended " + status + "; see the stack's log");
    }
  }

  /** This process POSTs the schedule to the gateway, open loop, and reads the streams. */
  private static void sendToGateway(
      Configuration bench, Scenario scenario, Schedule schedule, Receipts receipts, PrintStream out)
      throws Exception {
    String url =
        bench
            .getOptional(BenchOptions.GATEWAY_URL)
            .orElseThrow(() -> new IllegalArgumentException("bench.gateway-url is not set"));
    Map<String, String> keys =
        bench
            .getOptional(BenchOptions.GATEWAY_API_KEYS)
            .orElseThrow(() -> new IllegalArgumentException("bench.gateway-api-keys is not set"));
    HttpLoadClient client =
        new HttpLoadClient(URI.create(url), keys, receipts, scenario.timeout().plusSeconds(10))
            .connect();
    ProgressBar bar = new ProgressBar(out, scenario.duration());
    AtomicInteger sent = new AtomicInteger();
    Thread sender =
        new Thread(
            () -> client.run(schedule, new RequestFactory(scenario), sent::set), "http-load");
    sender.start();
    while (sender.isAlive()) {
      bar.show(sent.get() + "/" + schedule.size() + " sent, " + client.open() + " streaming");
      sender.join(500);
    }
    bar.done();
    if (!client.awaitIdle(bench.get(BenchOptions.REPORT_GRACE))) {
      out.println(client.open() + " streams still open after the grace period");
    }
    if (client.failed() > 0) {
      out.println(client.failed() + " requests failed at the HTTP client (see the report)");
    }
  }

  /** How many requests the schedule has due by {@code elapsed}. */
  private static int due(Schedule schedule, Duration elapsed) {
    int found = Arrays.binarySearch(schedule.offsetsNanos(), elapsed.toNanos());
    return found >= 0 ? found + 1 : -found - 1;
  }
}
