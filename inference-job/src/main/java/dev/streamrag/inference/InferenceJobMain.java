package dev.streamrag.inference;

import dev.streamrag.jobs.config.JobConfig;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs the inference job: {@code rag.requests} → answers on {@code rag.responses}. Settings: {@code
 * --key value} flags, {@code STREAMRAG_*} environment variables, or {@code --config
 * file.properties}; {@code --help} lists them.
 */
public final class InferenceJobMain {
  private InferenceJobMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(
          "streamrag inference job settings:\n\n" + JobConfig.describe(InferenceOptions.ALL));
      return;
    }
    Configuration config = JobConfig.load(args, System.getenv(), InferenceOptions.ALL);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    // Exactly-once responses need checkpoints: transactions commit when one completes.
    InferenceJob.configureCheckpoints(env, config);
    InferenceJob.buildOnKafka(env, config);
    env.execute(InferenceJob.NAME);
  }
}
