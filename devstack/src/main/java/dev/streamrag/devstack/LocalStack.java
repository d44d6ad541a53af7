package dev.streamrag.devstack;

import dev.streamrag.bench.BenchOptions;
import dev.streamrag.bench.load.LoadJob;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.bench.load.Schedule;
import dev.streamrag.bench.metrics.LatencyMetricsJob;
import dev.streamrag.corpus.CorpusFiles;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.inference.InferenceJob;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.ingest.IngestJob;
import dev.streamrag.ingest.IngestJobMain;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.jobs.kafka.TopicCatalog;
import dev.streamrag.mcptools.McpToolsServer;
import dev.streamrag.testsupport.GatewayServer;
import dev.streamrag.testsupport.KafkaServer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.OpenSearchServer;
import dev.streamrag.testsupport.RedisServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.kafka.clients.admin.Admin;

/**
 * The whole system on this machine: Kafka, OpenSearch with k-NN, Redis, llm-sim and the
 * OpenAI-compatible gateway as child processes, the demo MCP server (its tools for agents) and one
 * Flink MiniCluster (web UI included) in this JVM, running the ingest job over the demo corpus,
 * then the inference job. {@link #close} cancels the jobs and stops every server by PID.
 */
public final class LocalStack implements AutoCloseable {
  /** The default llm-sim profile, and the model name it serves. */
  public static final String PROFILE = "qwen2.5-0.5b-l4";

  private final LlmFleet fleet;
  private final String model;

  private final List<AutoCloseable> resources = new ArrayList<>();
  private final Consumer<String> log;
  private KafkaServer kafka;
  private OpenSearchServer opensearch;
  private RedisServer redis;
  private final List<LlmSimServer> llms = new ArrayList<>();
  private final Map<String, List<String>> poolEndpoints = new LinkedHashMap<>();
  private Path poolsFile; // with --llm-pools only
  private McpToolsServer tools;
  private GatewayServer gateway;
  private Map<String, String> gatewayKeys;
  private MiniCluster flink;
  private JobID inference;
  private JobID latencyMetrics;
  private Configuration inferenceConfig;
  private int metricsPort;

  private LocalStack(Consumer<String> log, LlmFleet fleet) {
    this.log = log;
    this.fleet = fleet;
    this.model = fleet.model();
  }

  /**
   * Starts servers and jobs. {@code settings} are extra {@code key → value} settings for every job
   * (a scenario's {@code bench.*} keys among them), {@code uiPorts} the web UI's port range.
   */
  public static LocalStack start(
      Path dir, String uiPorts, Map<String, String> settings, Consumer<String> log)
      throws Exception {
    return start(dir, uiPorts, settings, PROFILE, log);
  }

  /** As above, with llm-sim playing {@code profile} (the model name it serves too). */
  public static LocalStack start(
      Path dir, String uiPorts, Map<String, String> settings, String profile, Consumer<String> log)
      throws Exception {
    return start(dir, uiPorts, settings, profile, 1, log);
  }

  /**
   * As above, with {@code llmReplicas} llm-sim servers behind the inference job's router (try
   * {@code llm.routing} policies on them: each replica has its own prefix cache).
   */
  public static LocalStack start(
      Path dir,
      String uiPorts,
      Map<String, String> settings,
      String profile,
      int llmReplicas,
      Consumer<String> log)
      throws Exception {
    return start(dir, uiPorts, settings, LlmFleet.single(profile, llmReplicas), log);
  }

  /** As above, with the llm-sim servers of {@code fleet}: one pool, or several placed by cost. */
  public static LocalStack start(
      Path dir, String uiPorts, Map<String, String> settings, LlmFleet fleet, Consumer<String> log)
      throws Exception {
    check(settings);
    LocalStack stack = new LocalStack(log, fleet);
    try {
      stack.startServers(dir);
      stack.startFlink(uiPorts);
      stack.createTopics();
      stack.startGateway(dir, settings);
      stack.startTools(settings);
      stack.ingest(dir, settings);
      stack.startInference(settings);
      stack.startLatencyMetrics(settings);
      return stack;
    } catch (Exception | Error e) {
      stack.close();
      throw e;
    }
  }

  /**
   * Every setting must mean something to the inference job or the load generator (a typo would
   * otherwise be dropped without a word), and every value must parse, with the scenario's own
   * rules: checked before anything starts, not after a minute of start-up.
   */
  static void check(Map<String, String> settings) {
    Set<String> known = new TreeSet<>();
    InferenceOptions.ALL.forEach(o -> known.add(o.key()));
    BenchOptions.ALL.forEach(o -> known.add(o.key()));
    List<String> unknown = settings.keySet().stream().filter(k -> !known.contains(k)).toList();
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("unknown setting(s) " + unknown + "; known: " + known);
    }
    for (String own : List.of("llm.pools-file", "llm.endpoints", "llm.models")) {
      if (settings.containsKey(own)) {
        throw new IllegalArgumentException(
            own
                + " is the local stack's own: it points the job at the llm-sim servers it starts;"
                + " choose them with --llm-profile, --llm-replicas or --llm-pools");
      }
    }
    Map<String, String> inference = new LinkedHashMap<>(settings);
    inference.keySet().removeIf(k -> k.startsWith("bench."));
    Configuration config = JobConfig.load(flags(inference), Map.of(), InferenceOptions.ALL);
    if (config.get(InferenceOptions.RESPONSES_FORMAT) == RecordFormat.REGISTRY) {
      // The stack's own readers (the run's client and report, ask) read without a registry, and
      // the stack runs none.
      throw new IllegalArgumentException(
          "inference.responses-format=REGISTRY needs a schema registry, which the local stack"
              + " does not run; use AVRO or JSON here");
    }
    Schedule.of(Scenario.from(JobConfig.load(flags(bench(settings)), Map.of(), BenchOptions.ALL)));
  }

  private void startServers(Path dir) throws IOException {
    log.accept("starting Kafka, OpenSearch (k-NN), Redis and llm-sim (" + fleet + ") ...");
    kafka = keep(KafkaServer.start(dir));
    opensearch = keep(OpenSearchServer.start(dir, "512m"));
    redis = keep(RedisServer.start(dir));
    for (LlmFleet.Pool pool : fleet.pools()) {
      List<String> urls = new ArrayList<>();
      for (int i = 0; i < pool.replicas(); i++) {
        LlmSimServer server = keep(LlmSimServer.start(dir, pool.profile(), model, null));
        llms.add(server);
        urls.add(server.baseUrl());
      }
      poolEndpoints.put(pool.name(), urls);
    }
    if (fleet.explicit()) {
      poolsFile = dir.resolve("llm-pools.yaml");
      Files.writeString(poolsFile, fleet.poolsYaml(poolEndpoints));
      log.accept("LLM pools: " + poolsFile);
    }
  }

  private void startFlink(String uiPorts) throws Exception {
    Configuration conf = new Configuration();
    metricsPort = FreePorts.firstFree(9249, 9269);
    conf.setString(
        "metrics.reporter.prom.factory.class", PrometheusReporterFactory.class.getName());
    conf.setString("metrics.reporter.prom.port", String.valueOf(metricsPort));
    conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    conf.set(RestOptions.ADDRESS, "127.0.0.1");
    conf.set(RestOptions.BIND_PORT, uiPorts);
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 4);
    flink =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(4)
                .build());
    flink.start();
    resources.add(flink);
    log.accept("Flink web UI: " + flink.getRestAddress().get());
  }

  /** The topics of kafka/topics.yaml, on one broker. */
  private void createTopics() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      TopicCatalog.createMissing(admin, TopicCatalog.bundled(), 1);
    }
  }

  /**
   * The OpenAI-compatible gateway, reading partition 0 of the pieces topic, with one API key per
   * tenant of the demo corpus ({@code sk-local-<tenant>-devstack}: a loopback-only stack needs no
   * secrets; the gateway wants keys of 16 characters or more).
   */
  private void startGateway(Path dir, Map<String, String> settings) {
    Configuration bench =
        JobConfig.load(flags(Map.of(), bench(settings)), Map.of(), BenchOptions.ALL);
    gatewayKeys = new LinkedHashMap<>();
    for (String tenant : bench.get(BenchOptions.CORPUS_TENANTS)) {
      gatewayKeys.put(tenant, "sk-local-" + tenant + "-devstack");
    }
    Map<String, String> keyToTenant = new LinkedHashMap<>();
    gatewayKeys.forEach((tenant, key) -> keyToTenant.put(key, tenant));
    gateway =
        keep(
            GatewayServer.builder(dir, kafka.bootstrapServers())
                .replyPartition(0)
                .apiKeys(keyToTenant)
                .models(List.of(model))
                .start());
    log.accept("gateway: " + gateway.baseUrl());
  }

  /**
   * The demo MCP server, in this JVM, over the same corpus the stack ingests (the scenario's seed,
   * size and tenants): the tools (lookup_entity, compute, list_entities) the stack's agents call.
   */
  private void startTools(Map<String, String> settings) {
    Configuration bench =
        JobConfig.load(flags(Map.of(), bench(settings)), Map.of(), BenchOptions.ALL);
    tools =
        keep(
            McpToolsServer.builder()
                .port(0)
                .corpusSeed(bench.get(BenchOptions.CORPUS_SEED))
                .corpusDocuments(bench.get(BenchOptions.CORPUS_DOCUMENTS))
                .tenants(bench.get(BenchOptions.CORPUS_TENANTS))
                .start());
    log.accept("MCP tools: " + tools.endpoint());
  }

  /** The demo corpus (the scenario's seed, size and tenants) through the real ingest job. */
  private void ingest(Path dir, Map<String, String> settings) throws Exception {
    Configuration bench =
        JobConfig.load(flags(Map.of(), bench(settings)), Map.of(), BenchOptions.ALL);
    DemoCorpus corpus =
        DemoCorpus.generate(
            bench.get(BenchOptions.CORPUS_SEED),
            bench.get(BenchOptions.CORPUS_DOCUMENTS),
            bench.get(BenchOptions.CORPUS_TENANTS));
    Path files = dir.resolve("corpus");
    CorpusFiles.write(corpus, files);
    Files.delete(files.resolve(CorpusFiles.QUESTIONS));
    log.accept("ingesting the demo corpus (" + corpus.documents().size() + " documents) ...");
    Configuration config =
        JobConfig.load(
            flags(
                Map.of("ingest.kafka-enabled", "false", "ingest.files", files.toString()),
                services(IngestOptions.ALL.stream().map(o -> o.key()).toList())),
            Map.of(),
            IngestOptions.ALL);
    IngestJobMain.createIndex(config);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    IngestJobMain.buildOnConfiguredIo(env, config);
    JobID job = submit(env, IngestJob.NAME);
    JobStatus status = flink.requestJobResult(job).get().getApplicationStatus().deriveJobStatus();
    if (status != JobStatus.FINISHED) {
      throw new IllegalStateException("the ingest job ended " + status + "; see the log");
    }
    KnnIndex.refresh(URI.create(opensearch.uri().toString()), config.get(IngestOptions.INDEX));
  }

  /**
   * Replaces the running inference job with one on {@code settings} if they change it (a scenario
   * matrix comparing job settings); the new job resumes from the committed offsets.
   */
  public void useInferenceSettings(Map<String, String> settings) throws Exception {
    Configuration wanted = inferenceConfig(settings);
    if (wanted.equals(inferenceConfig)) {
      return;
    }
    flink.cancelJob(inference).get();
    awaitJob(inference);
    startInference(settings);
  }

  private void startInference(Map<String, String> settings) throws Exception {
    Configuration config = inferenceConfig(settings);
    inferenceConfig = config;
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    InferenceJob.configureCheckpoints(env, config);
    InferenceJob.buildOnKafka(env, config);
    inference = submit(env, InferenceJob.NAME);
    log.accept("inference job running");
  }

  /** Latency records → Flink metrics, scraped with the rest at {@link #metricsUrl}. */
  private void startLatencyMetrics(Map<String, String> settings) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(10_000);
    LatencyMetricsJob.build(env, benchConfig(settings));
    latencyMetrics = submit(env, LatencyMetricsJob.NAME);
  }

  /** The llm-sim replicas' base URLs, as {@code llm.endpoints} takes them. */
  private String llmEndpoints() {
    return String.join(";", llms.stream().map(LlmSimServer::baseUrl).toList());
  }

  /** Flink's Prometheus endpoint: every job's metrics, the live latency metrics among them. */
  public String metricsUrl() {
    return "http://127.0.0.1:" + metricsPort + "/metrics";
  }

  /** The inference job's settings: the stack's services, then the user's inference settings. */
  Configuration inferenceConfig(Map<String, String> settings) {
    Map<String, String> own = new LinkedHashMap<>();
    if (poolsFile != null) {
      own.put("llm.pools-file", poolsFile.toString());
    } else {
      own.put("llm.endpoints", llmEndpoints());
      own.put("llm.models", model);
    }
    own.put("redis.url", redis.uri());
    own.put("agent.mcp-servers", "demo=" + tools.endpoint());
    List<String> keys = InferenceOptions.ALL.stream().map(o -> o.key()).toList();
    Map<String, String> user = new LinkedHashMap<>();
    settings.forEach(
        (k, v) -> {
          if (keys.contains(k)) {
            user.put(k, v);
          }
        });
    return JobConfig.load(flags(own, services(keys), user), Map.of(), InferenceOptions.ALL);
  }

  /** The load's settings: the stack's Kafka and gateway, then the scenario. */
  public Configuration benchConfig(Map<String, String> settings) {
    Map<String, String> own = new LinkedHashMap<>();
    own.put("bench.gateway-url", gateway.baseUrl());
    if (poolsFile != null) {
      own.put("bench.pools-file", poolsFile.toString()); // the report prices the stack's pools
    }
    List<String> keys = new ArrayList<>();
    gatewayKeys.forEach((tenant, key) -> keys.add(tenant + ":" + key));
    own.put("bench.gateway-api-keys", String.join(",", keys));
    return JobConfig.load(
        flags(own, services(BenchOptions.ALL.stream().map(o -> o.key()).toList()), bench(settings)),
        Map.of(),
        BenchOptions.ALL);
  }

  /** Runs the load job to its end. */
  public JobID startLoad(Configuration bench, Scenario scenario) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.enableCheckpointing(5_000);
    LoadJob.build(env, bench, scenario);
    return submit(env, LoadJob.NAME + " " + scenario.runId());
  }

  public JobStatus awaitJob(JobID job) throws Exception {
    return flink.requestJobResult(job).get().getApplicationStatus().deriveJobStatus();
  }

  public JobStatus status(JobID job) throws Exception {
    return flink.getJobStatus(job).get();
  }

  public String kafkaBootstrap() {
    return kafka.bootstrapServers();
  }

  public String webUi() throws Exception {
    return flink.getRestAddress().get().toString();
  }

  /** What a user needs to talk to the stack. */
  public Map<String, String> endpoints() throws Exception {
    Map<String, String> endpoints = new LinkedHashMap<>();
    endpoints.put("flink.web-ui", webUi());
    endpoints.put("flink.prometheus-metrics", metricsUrl());
    endpoints.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    endpoints.put("opensearch.url", opensearch.uri().toString());
    endpoints.put("redis.url", redis.uri());
    endpoints.put("llm.endpoints", llmEndpoints());
    endpoints.put("llm.model", model);
    if (poolsFile != null) {
      endpoints.put("llm.pools-file", poolsFile.toString());
    }
    endpoints.put("inference.requests-topic", InferenceOptions.REQUESTS_TOPIC.defaultValue());
    endpoints.put("inference.responses-topic", InferenceOptions.RESPONSES_TOPIC.defaultValue());
    endpoints.put("pieces.topic", InferenceOptions.PIECES_TOPIC.defaultValue());
    endpoints.put("mcp-tools.url", tools.endpoint());
    endpoints.put("gateway.url", gateway.openAiBaseUrl());
    gatewayKeys.forEach((tenant, key) -> endpoints.put("gateway.api-key." + tenant, key));
    return endpoints;
  }

  private JobID submit(StreamExecutionEnvironment env, String name) throws Exception {
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName(name);
    JobGraph job = graph.getJobGraph();
    flink.submitJob(job).get();
    return job.getJobID();
  }

  /** Service endpoints for whichever of these keys a job knows. */
  private Map<String, String> services(List<String> keys) {
    Map<String, String> services = new LinkedHashMap<>();
    services.put("kafka.bootstrap-servers", kafka.bootstrapServers());
    services.put("opensearch.url", opensearch.uri().toString());
    services.keySet().retainAll(keys);
    return services;
  }

  private static Map<String, String> bench(Map<String, String> settings) {
    Map<String, String> bench = new LinkedHashMap<>();
    settings.forEach(
        (k, v) -> {
          if (k.startsWith("bench.")) {
            bench.put(k, v);
          }
        });
    return bench;
  }

  @SafeVarargs
  private static String[] flags(Map<String, String>... layers) {
    Map<String, String> merged = new LinkedHashMap<>();
    for (Map<String, String> layer : layers) {
      merged.putAll(layer);
    }
    List<String> flags = new ArrayList<>();
    merged.forEach(
        (k, v) -> {
          flags.add("--" + k);
          flags.add(v);
        });
    return flags.toArray(String[]::new);
  }

  private <T extends AutoCloseable> T keep(T resource) {
    resources.add(resource);
    return resource;
  }

  /**
   * Cancels the jobs, stops Flink, then the servers (by PID), newest first. Called by a shutdown
   * hook on Ctrl-C as well as at the end of a command, maybe both at once: once is enough, and
   * nothing waits without a bound.
   */
  @Override
  public synchronized void close() {
    for (JobID job : new JobID[] {inference, latencyMetrics}) {
      if (flink != null && job != null) {
        try {
          flink.cancelJob(job).get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
          // Gone already, or stuck: closing the MiniCluster stops whatever is left.
        }
      }
    }
    inference = null;
    latencyMetrics = null;
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        if (resources.get(i) instanceof MiniCluster cluster) {
          cluster.closeAsync().get(30, TimeUnit.SECONDS);
        } else {
          resources.get(i).close();
        }
      } catch (Exception e) {
        log.accept("while stopping " + resources.get(i) + ": " + e);
      }
    }
    resources.clear();
  }
}
