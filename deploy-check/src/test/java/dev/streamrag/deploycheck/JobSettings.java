package dev.streamrag.deploycheck;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.jobs.config.JobConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;

/** Which settings each job's main reads, by entry class: its declared options. */
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

  private JobSettings() {}

  /** Every key some job declares. */
  static Set<String> declared() {
    Set<String> keys = new HashSet<>();
    OPTIONS.values().forEach(list -> list.forEach(o -> keys.add(o.key())));
    return keys;
  }

  /** The keys the job with this entry class reads. */
  static Set<String> readBy(String entryClass) {
    List<ConfigOption<?>> options = OPTIONS.get(entryClass);
    if (options == null) {
      throw new IllegalArgumentException("no options known for " + entryClass);
    }
    Set<String> keys = new HashSet<>();
    options.forEach(o -> keys.add(o.key()));
    return keys;
  }

  /** The environment variables the job with this entry class reads. */
  static Set<String> envReadBy(String entryClass) {
    Set<String> names = new HashSet<>();
    readBy(entryClass).forEach(k -> names.add(JobConfig.envName(k)));
    return names;
  }
}
