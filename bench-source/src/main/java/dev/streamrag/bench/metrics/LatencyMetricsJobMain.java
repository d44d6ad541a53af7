package dev.streamrag.bench.metrics;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Runs the live latency metrics job; settings as the load job's ({@code --help}). */
public final class LatencyMetricsJobMain {
  private LatencyMetricsJobMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(
          "streamrag latency metrics settings:\n\n" + JobConfig.describe(BenchOptions.ALL));
      return;
    }
    Configuration config = JobConfig.load(args, System.getenv(), BenchOptions.ALL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(10_000);
    LatencyMetricsJob.build(env, config);
    env.execute(LatencyMetricsJob.NAME);
  }
}
