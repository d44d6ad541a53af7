package dev.streamrag.bench.report;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.client.Receipts;
import dev.streamrag.bench.load.RequestFactory;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.bench.load.Schedule;
import dev.streamrag.jobs.config.KafkaClients;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.function.Consumer;
import org.apache.flink.configuration.Configuration;

/** A finished run's report: its records read back from Kafka and measured. */
public final class LatencyReport {
  private LatencyReport() {}

  /** A run's records and the report made of them. */
  public record Measured(RunRecords records, RunReport report) {}

  /**
   * Reads the run back from Kafka and reports it with what its client received ({@code receipts},
   * still being filled by running receivers: the answered requests' receipts are awaited for up to
   * the report grace). Empty receipts give a report of in-job figures only.
   */
  public static Measured measure(
      Configuration config, Scenario scenario, Receipts receipts, Consumer<String> progress) {
    CostModel prices = costModel(config); // before the wait for answers: a bad file fails at once
    RunRecords records =
        RunCollector.collect(
            KafkaClients.from(config),
            config.get(BenchOptions.REQUESTS_TOPIC),
            config.get(BenchOptions.RESPONSES_TOPIC),
            readFrom(config),
            scenario.runId(),
            Schedule.of(scenario).size(),
            config.get(BenchOptions.REPORT_GRACE),
            progress);
    if (!receipts.isEmpty()) {
      awaitReceipts(receipts, records, config.get(BenchOptions.REPORT_GRACE), progress);
    }
    RequestFactory asked = new RequestFactory(scenario);
    RunReport report =
        RunReport.of(
            scenario,
            new Slo(
                config.get(BenchOptions.SLO_TTFT).toMillis(),
                config.get(BenchOptions.SLO_E2E).toMillis()),
            records,
            receipts,
            asked.questions(),
            asked.multiHopQuestions(),
            prices);
    return new Measured(records, report);
  }

  /**
   * The price table ({@code bench.prices-file}) and the LLM pools priced from it ({@code
   * bench.pools-file}); a bad file is refused with a message naming the key. A caller that runs the
   * load first may call this before it, to fail before the run rather than after.
   */
  public static CostModel costModel(Configuration config) {
    return CostModel.load(
        config.getOptional(BenchOptions.PRICES_FILE).map(Path::of).orElse(null),
        config.getOptional(BenchOptions.POOLS_FILE).map(Path::of).orElse(null));
  }

  /**
   * Gives the client's receivers time to see the END and the commit of every answered request (they
   * follow the topics live; the collector read them after the fact), up to {@code grace} without
   * progress.
   */
  static void awaitReceipts(
      Receipts receipts, RunRecords records, Duration grace, Consumer<String> progress) {
    List<String> answered = List.copyOf(records.answered().keySet());
    long lastProgress = System.nanoTime();
    long complete = count(receipts, answered);
    while (complete < answered.size() && System.nanoTime() - lastProgress < grace.toNanos()) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      long now = count(receipts, answered);
      if (now > complete) {
        complete = now;
        lastProgress = System.nanoTime();
      }
    }
    if (complete < answered.size()) {
      progress.accept(
          (answered.size() - complete)
              + " answered requests have no complete client receipt (END and commit seen)");
    }
  }

  private static long count(Receipts receipts, List<String> ids) {
    return ids.stream().filter(id -> receipts.complete(List.of(id))).count();
  }

  /** Where the report starts reading the topics ({@code bench.report-from}); null: beginning. */
  static Instant readFrom(Configuration config) {
    return config
        .getOptional(BenchOptions.REPORT_FROM)
        .map(
            text -> {
              try {
                return Instant.parse(text);
              } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(
                    BenchOptions.REPORT_FROM.key()
                        + " must be a UTC time like 2026-11-23T17:00:00Z, got '"
                        + text
                        + "'");
              }
            })
        .orElse(null);
  }

  /** The folder a run's report goes to. */
  public static Path folder(Configuration config, Scenario scenario) {
    return Path.of(config.get(BenchOptions.RESULTS_DIR)).resolve(scenario.runId());
  }
}
