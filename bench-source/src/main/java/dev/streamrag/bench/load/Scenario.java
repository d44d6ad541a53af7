package dev.streamrag.bench.load;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.BenchOptions.Arrival;
import java.io.Serializable;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.apache.flink.configuration.Configuration;

/** One run's workload, read and checked once from the settings. */
public record Scenario(
    String runId,
    Arrival arrival,
    double rate,
    Duration duration,
    Duration burstOn,
    Duration burstOff,
    double rampTo,
    String traceFile,
    long seed,
    double ragShare,
    double agentShare,
    List<String> agentTools,
    long corpusSeed,
    int corpusDocuments,
    List<String> corpusTenants,
    double zipfExponent,
    LengthDistribution promptChars,
    LengthDistribution maxTokens,
    double sharedPrefixRatio,
    int sharedPrefixChars,
    Duration timeout,
    Duration warmup,
    int maxRequests)
    implements Serializable {

  public Scenario {
    corpusTenants = List.copyOf(corpusTenants);
    agentTools = List.copyOf(agentTools);
    require(rate > 0, "bench.rate must be > 0, got " + rate);
    require(!duration.isNegative() && !duration.isZero(), "bench.duration must be > 0");
    require(ragShare >= 0 && ragShare <= 1, "bench.rag-share must be in [0, 1], got " + ragShare);
    require(
        agentShare >= 0 && agentShare <= 1,
        "bench.agent-share must be in [0, 1], got " + agentShare);
    require(
        agentTools.stream().noneMatch(String::isBlank),
        "bench.agent-tools must not name a blank tool, got " + agentTools);
    require(
        sharedPrefixRatio >= 0 && sharedPrefixRatio <= 1,
        "bench.shared-prefix-ratio must be in [0, 1], got " + sharedPrefixRatio);
    require(
        warmup.compareTo(duration) < 0 || arrival == Arrival.TRACE,
        "bench.warmup must be shorter than bench.duration");
    require(corpusDocuments > 0, "bench.corpus-documents must be > 0");
    require(!corpusTenants.isEmpty(), "bench.corpus-tenants must name a tenant");
    require(
        arrival != Arrival.TRACE || traceFile != null,
        "bench.arrival TRACE needs bench.trace-file");
    require(arrival != Arrival.RAMP || rampTo > 0, "bench.ramp-to must be > 0");
    require(
        arrival != Arrival.BURSTY || (!burstOn.isZero() && !burstOn.isNegative()),
        "bench.burst-on must be > 0");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  public static Scenario from(Configuration config) {
    // The gateway refuses AGENT requests (and tools): the whole share would come back REJECTED.
    require(
        config.get(BenchOptions.AGENT_SHARE) == 0
            || config.get(BenchOptions.TARGET) == BenchOptions.Target.KAFKA,
        "bench.agent-share needs bench.target KAFKA: the gateway serves CHAT and RAG requests only");
    String runId =
        config
            .getOptional(BenchOptions.RUN_ID)
            .orElseGet(
                () ->
                    "run-"
                        + ZonedDateTime.now(ZoneOffset.UTC)
                            .format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    return new Scenario(
        runId,
        config.get(BenchOptions.ARRIVAL),
        config.get(BenchOptions.RATE),
        config.get(BenchOptions.DURATION),
        config.get(BenchOptions.BURST_ON),
        config.get(BenchOptions.BURST_OFF),
        config.get(BenchOptions.RAMP_TO),
        config.getOptional(BenchOptions.TRACE_FILE).orElse(null),
        config.get(BenchOptions.SEED),
        config.get(BenchOptions.RAG_SHARE),
        config.get(BenchOptions.AGENT_SHARE),
        config.get(BenchOptions.AGENT_TOOLS),
        config.get(BenchOptions.CORPUS_SEED),
        config.get(BenchOptions.CORPUS_DOCUMENTS),
        config.get(BenchOptions.CORPUS_TENANTS),
        config.get(BenchOptions.ZIPF_EXPONENT),
        LengthDistribution.parse(config.get(BenchOptions.PROMPT_CHARS)),
        LengthDistribution.parse(config.get(BenchOptions.MAX_TOKENS)),
        config.get(BenchOptions.SHARED_PREFIX_RATIO),
        config.get(BenchOptions.SHARED_PREFIX_CHARS),
        config.get(BenchOptions.TIMEOUT),
        config.get(BenchOptions.WARMUP),
        config.get(BenchOptions.MAX_REQUESTS));
  }
}
