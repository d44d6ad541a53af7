package dev.streamrag.bench;

import dev.streamrag.jobs.config.CommonOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * The load generator's and the latency report's settings (see {@code JobConfig}): a scenario file
 * ({@code --config scenario.yaml}) holds them, flags and {@code STREAMRAG_*} variables override.
 */
public final class BenchOptions {
  private BenchOptions() {}

  /** How requests arrive. */
  public enum Arrival {
    /** Evenly spaced at {@code bench.rate}. */
    CONSTANT,
    /** Exponential gaps with mean 1/{@code bench.rate}. */
    POISSON,
    /** Poisson during on-phases, silent during off-phases, {@code bench.rate} on average. */
    BURSTY,
    /** Evenly spaced, the rate rising linearly from {@code bench.rate} to {@code bench.ramp-to}. */
    RAMP,
    /** The times (and lengths) of a trace file. */
    TRACE
  }

  public static final ConfigOption<String> KAFKA_BOOTSTRAP = CommonOptions.KAFKA_BOOTSTRAP;

  public static final ConfigOption<String> KAFKA_PROPERTIES_FILE =
      CommonOptions.KAFKA_PROPERTIES_FILE;
  public static final ConfigOption<String> REQUESTS_TOPIC = CommonOptions.REQUESTS_TOPIC;
  public static final ConfigOption<String> RESPONSES_TOPIC = CommonOptions.RESPONSES_TOPIC;
  public static final ConfigOption<String> LATENCY_TOPIC = CommonOptions.LATENCY_TOPIC;
  public static final ConfigOption<String> PIECES_TOPIC = CommonOptions.PIECES_TOPIC;

  /** Where the load goes, and how its answers are received. */
  public enum Target {
    /** Requests produced to the requests topic; answers read from the pieces topic. */
    KAFKA,
    /** Requests POSTed to the gateway's OpenAI-compatible API; answers streamed back as SSE. */
    GATEWAY
  }

  public static final ConfigOption<Target> TARGET =
      ConfigOptions.key("bench.target")
          .enumType(Target.class)
          .defaultValue(Target.KAFKA)
          .withDescription(
              "KAFKA: produce requests to Kafka and receive their pieces as a Kafka client. GATEWAY:"
                  + " POST them to the gateway (bench.gateway-url) and receive the SSE stream. Either"
                  + " way the client stamps what it receives, as it arrives.");

  public static final ConfigOption<String> GATEWAY_URL =
      ConfigOptions.key("bench.gateway-url")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "The gateway's base URL (bench.target GATEWAY), e.g. http://127.0.0.1:8080.");

  public static final ConfigOption<Map<String, String>> GATEWAY_API_KEYS =
      ConfigOptions.key("bench.gateway-api-keys")
          .mapType()
          .noDefaultValue()
          .withDescription(
              "The gateway API key of each tenant the load speaks for (bench.target GATEWAY), as"
                  + " tenant:key pairs separated by ','; the gateway binds each key to its tenant.");

  public static final ConfigOption<String> RUN_ID =
      ConfigOptions.key("bench.run-id")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Names the run: prefix of the request ids and the bench.run attribute the report"
                  + " selects by. Default: run-<UTC time>.");

  public static final ConfigOption<Duration> DURATION =
      ConfigOptions.key("bench.duration")
          .durationType()
          .defaultValue(Duration.ofSeconds(60))
          .withDescription("How long requests are sent (ignored by TRACE, which ends with it).");

  public static final ConfigOption<Double> RATE =
      ConfigOptions.key("bench.rate")
          .doubleType()
          .defaultValue(10.0)
          .withDescription("Requests per second (the average, or the starting rate of RAMP).");

  public static final ConfigOption<Arrival> ARRIVAL =
      ConfigOptions.key("bench.arrival")
          .enumType(Arrival.class)
          .defaultValue(Arrival.POISSON)
          .withDescription("CONSTANT, POISSON, BURSTY, RAMP or TRACE.");

  public static final ConfigOption<Duration> BURST_ON =
      ConfigOptions.key("bench.burst-on")
          .durationType()
          .defaultValue(Duration.ofSeconds(2))
          .withDescription("BURSTY: length of an on-phase.");

  public static final ConfigOption<Duration> BURST_OFF =
      ConfigOptions.key("bench.burst-off")
          .durationType()
          .defaultValue(Duration.ofSeconds(2))
          .withDescription("BURSTY: length of an off-phase.");

  public static final ConfigOption<Double> RAMP_TO =
      ConfigOptions.key("bench.ramp-to")
          .doubleType()
          .defaultValue(50.0)
          .withDescription("RAMP: requests per second at the end of the run.");

  public static final ConfigOption<String> TRACE_FILE =
      ConfigOptions.key("bench.trace-file")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "TRACE: CSV lines 'offsetMillis[,promptChars[,maxTokens]]' ('#' comments); the"
                  + " lengths, where given, override the distributions.");

  public static final ConfigOption<Long> SEED =
      ConfigOptions.key("bench.seed")
          .longType()
          .defaultValue(42L)
          .withDescription("Seed of arrivals and workload: the same seed sends the same run.");

  public static final ConfigOption<Double> RAG_SHARE =
      ConfigOptions.key("bench.rag-share")
          .doubleType()
          .defaultValue(0.8)
          .withDescription(
              "Share of RAG requests among those that are not AGENT (bench.agent-share); the rest"
                  + " are CHAT.");

  public static final ConfigOption<Double> AGENT_SHARE =
      ConfigOptions.key("bench.agent-share")
          .doubleType()
          .defaultValue(0.0)
          .withDescription(
              "Share of AGENT requests: each asks one of the demo corpus's multi-hop questions"
                  + " (two entities' facts and a computation), to be answered by the inference"
                  + " job's tool-calling loop. Drawn first; 0 leaves a run's requests exactly as"
                  + " they were without it. Kafka target only (the gateway serves CHAT and RAG).");

  public static final ConfigOption<List<String>> AGENT_TOOLS =
      ConfigOptions.key("bench.agent-tools")
          .stringType()
          .asList()
          .defaultValues("lookup_entity", "compute")
          .withDescription(
              "The tools each AGENT request offers (its tools field), separated by ';': the demo"
                  + " MCP server's lookup_entity and compute answer the multi-hop questions. An"
                  + " empty value offers every tool the request's tenant may use.");

  public static final ConfigOption<Long> CORPUS_SEED =
      ConfigOptions.key("bench.corpus-seed")
          .longType()
          .defaultValue(42L)
          .withDescription(
              "Seed of the demo corpus the questions come from; must match the ingested one.");

  public static final ConfigOption<Integer> CORPUS_DOCUMENTS =
      ConfigOptions.key("bench.corpus-documents")
          .intType()
          .defaultValue(200)
          .withDescription("Documents of that demo corpus (three questions each).");

  public static final ConfigOption<List<String>> CORPUS_TENANTS =
      ConfigOptions.key("bench.corpus-tenants")
          .stringType()
          .asList()
          .defaultValues("acme", "globex")
          .withDescription("Tenants of that demo corpus, separated by ';'.");

  public static final ConfigOption<Double> ZIPF_EXPONENT =
      ConfigOptions.key("bench.zipf-exponent")
          .doubleType()
          .defaultValue(0.8)
          .withDescription(
              "Question popularity: rank r is asked with weight 1/r^s. 0 is uniform; higher"
                  + " repeats popular questions more and raises the response-cache hit ratio.");

  public static final ConfigOption<String> PROMPT_CHARS =
      ConfigOptions.key("bench.prompt-chars")
          .stringType()
          .defaultValue("lognormal:400,0.6")
          .withDescription(
              "Length of CHAT prompts in characters: fixed:N, uniform:MIN,MAX or"
                  + " lognormal:MEDIAN,SIGMA.");

  public static final ConfigOption<String> MAX_TOKENS =
      ConfigOptions.key("bench.max-tokens")
          .stringType()
          .defaultValue("uniform:32,128")
          .withDescription("maxTokens of each request, same forms as bench.prompt-chars.");

  public static final ConfigOption<Double> SHARED_PREFIX_RATIO =
      ConfigOptions.key("bench.shared-prefix-ratio")
          .doubleType()
          .defaultValue(0.0)
          .withDescription(
              "Share of requests that start with the same long system message (exercises the"
                  + " LLM server's prefix cache).");

  public static final ConfigOption<Integer> SHARED_PREFIX_CHARS =
      ConfigOptions.key("bench.shared-prefix-chars")
          .intType()
          .defaultValue(2000)
          .withDescription("Length of that shared system message.");

  public static final ConfigOption<Duration> TIMEOUT =
      ConfigOptions.key("bench.timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription("Each request's deadline, after its intended send time.");

  public static final ConfigOption<Duration> WARMUP =
      ConfigOptions.key("bench.warmup")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "The first part of the run, whose requests are sent and checked for loss but left"
                  + " out of latency, throughput, goodput, cache and quality figures (JIT, caches"
                  + " and connections warming up).");

  public static final ConfigOption<Integer> MAX_REQUESTS =
      ConfigOptions.key("bench.max-requests")
          .intType()
          .defaultValue(5_000_000)
          .withDescription("Refuses scenarios that would send more (their schedule is in memory).");

  public static final ConfigOption<Duration> SLO_TTFT =
      ConfigOptions.key("bench.slo-ttft")
          .durationType()
          .defaultValue(Duration.ofSeconds(1))
          .withDescription(
              "Goodput SLO: time to first token as the client observed it (intended send time to"
                  + " the first text received; a cache hit's whole answer).");

  public static final ConfigOption<Duration> SLO_E2E =
      ConfigOptions.key("bench.slo-e2e")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "Goodput SLO: end-to-end latency as the client observed it (intended send time to"
                  + " the end of the streamed answer).");

  public static final ConfigOption<Duration> REPORT_GRACE =
      ConfigOptions.key("bench.report-grace")
          .durationType()
          .defaultValue(Duration.ofSeconds(60))
          .withDescription(
              "After the last request, how long the report waits for answers before it counts"
                  + " the missing ones as lost.");

  public static final ConfigOption<String> REPORT_FROM =
      ConfigOptions.key("bench.report-from")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "UTC time (e.g. 2026-11-23T17:00:00Z) from which the report reads the requests and"
                  + " responses topics: a little before the run started. Default: the beginning"
                  + " of the topics, which is slow where they keep days of traffic.");

  public static final ConfigOption<String> PRICES_FILE =
      ConfigOptions.key("bench.prices-file")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "YAML price table for the cost model; default: the bundled list prices"
                  + " (prices.yaml in the jar).");

  public static final ConfigOption<String> POOLS_FILE =
      ConfigOptions.key("bench.pools-file")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "The LLM pools YAML the inference job was given (llm.pools-file), priced from"
                  + " bench.prices-file: the report's by-pool table prices each pool's servers for"
                  + " the run. Default: none (pools are listed unpriced).");

  public static final ConfigOption<String> RESULTS_DIR =
      ConfigOptions.key("bench.results-dir")
          .stringType()
          .defaultValue("results")
          .withDescription("Where reports are written, one folder per run.");

  public static final List<ConfigOption<?>> ALL =
      List.of(
          KAFKA_BOOTSTRAP,
          KAFKA_PROPERTIES_FILE,
          REQUESTS_TOPIC,
          RESPONSES_TOPIC,
          LATENCY_TOPIC,
          PIECES_TOPIC,
          TARGET,
          GATEWAY_URL,
          GATEWAY_API_KEYS,
          RUN_ID,
          DURATION,
          RATE,
          ARRIVAL,
          BURST_ON,
          BURST_OFF,
          RAMP_TO,
          TRACE_FILE,
          SEED,
          RAG_SHARE,
          AGENT_SHARE,
          AGENT_TOOLS,
          CORPUS_SEED,
          CORPUS_DOCUMENTS,
          CORPUS_TENANTS,
          ZIPF_EXPONENT,
          PROMPT_CHARS,
          MAX_TOKENS,
          SHARED_PREFIX_RATIO,
          SHARED_PREFIX_CHARS,
          TIMEOUT,
          WARMUP,
          MAX_REQUESTS,
          SLO_TTFT,
          SLO_E2E,
          REPORT_GRACE,
          REPORT_FROM,
          PRICES_FILE,
          POOLS_FILE,
          RESULTS_DIR);
}
