package dev.streamrag.deploycheck;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;

/**
 * Which settings each job's main reads, by entry class: its declared options, and, for the security
 * settings of issue 20 that the jobs are being given in parallel (secret references resolved where
 * each client opens), the contract's list until some job declares the key. Once a job declares one
 * of them, its own option list decides and the contract entry is unused: delete it then.
 */
final class JobSettings {
  static final String INFERENCE = "dev.streamrag.inference.InferenceJobMain";
  static final String INGEST = "dev.streamrag.ingest.IngestJobMain";
  static final String LOAD = "dev.streamrag.bench.load.LoadJobMain";
  static final String LATENCY = "dev.streamrag.bench.metrics.LatencyMetricsJobMain";

  static final Map<String, List<ConfigOption<?>>> OPTIONS =
      Map.of(
          INFERENCE, InferenceOptions.ALL,
          INGEST, IngestOptions.ALL,
          LOAD, BenchOptions.ALL,
          LATENCY, BenchOptions.ALL);

  /** The security settings' contract: key → the jobs that read it. */
  private static final Map<String, Set<String>> CONTRACT =
      Map.of(
          "kafka.properties-file", Set.of(INFERENCE, INGEST, LOAD, LATENCY),
          "redis.username", Set.of(INFERENCE),
          "redis.password", Set.of(INFERENCE),
          "opensearch.username", Set.of(INFERENCE, INGEST),
          "opensearch.password", Set.of(INFERENCE, INGEST),
          "opensearch.ca-file", Set.of(INFERENCE, INGEST),
          "llm.api-key", Set.of(INFERENCE));

  private JobSettings() {}

  /** Every key some job declares. */
  static Set<String> declared() {
    Set<String> keys = new HashSet<>();
    OPTIONS.values().forEach(list -> list.forEach(o -> keys.add(o.key())));
    return keys;
  }

  /** Contract keys no job declares yet: accepted in settings without a job's option. */
  static Set<String> pending() {
    Set<String> pending = new TreeSet<>(CONTRACT.keySet());
    pending.removeAll(declared());
    return pending;
  }

  /** The keys the job with this entry class reads. */
  static Set<String> readBy(String entryClass) {
    List<ConfigOption<?>> options = OPTIONS.get(entryClass);
    if (options == null) {
      throw new IllegalArgumentException("no options known for " + entryClass);
    }
    Set<String> keys = new HashSet<>();
    options.forEach(o -> keys.add(o.key()));
    for (String key : pending()) {
      if (CONTRACT.get(key).contains(entryClass)) {
        keys.add(key);
      }
    }
    return keys;
  }

  /** The environment variables the job with this entry class reads. */
  static Set<String> envReadBy(String entryClass) {
    Set<String> names = new HashSet<>();
    readBy(entryClass).forEach(k -> names.add(JobConfig.envName(k)));
    return names;
  }

  /** The environment variable names of pending contract keys. */
  static Set<String> pendingEnv() {
    Set<String> names = new HashSet<>();
    pending().forEach(k -> names.add(JobConfig.envName(k)));
    return names;
  }
}
