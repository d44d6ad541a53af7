package dev.streamrag.bench.load;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs the load job. Settings: {@code --config scenario.yaml}, {@code --key value} flags, {@code
 * STREAMRAG_*} variables; {@code --help} lists them.
 */
public final class LoadJobMain {
  private LoadJobMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(
          "streamrag load generator settings:\n\n" + JobConfig.describe(BenchOptions.ALL));
      return;
    }
    Configuration config = JobConfig.load(args, System.getenv(), BenchOptions.ALL);
    Scenario scenario = Scenario.from(config);
    System.out.printf(
        "run %s: %d requests, %s arrivals at %.1f/s%n",
        scenario.runId(), Schedule.of(scenario).size(), scenario.arrival(), scenario.rate());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(5_000);
    LoadJob.build(env, config, scenario);
    env.execute(LoadJob.NAME + " " + scenario.runId());
  }
}
