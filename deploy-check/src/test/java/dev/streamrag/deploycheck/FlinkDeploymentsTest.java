package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.bench.BenchOptions;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.kafka.TopicCatalog;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Kubernetes manifests as each overlay renders them: valid against the Flink operator's CRD,
 * every Flink setting a real Flink option with a value it parses, every job setting one its job
 * accepts, images pinned, resources set, jar paths that the build and the image produce.
 */
class FlinkDeploymentsTest {
  private static final String USRLIB = "local:///opt/flink/usrlib/";
  private static final Pattern PINNED =
      Pattern.compile("[a-z0-9./-]+(:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*)(@sha256:[a-f0-9]{64})?");
  private static final Map<String, List<ConfigOption<?>>> JOB_OPTIONS = JobSettings.OPTIONS;

  private static CrdSchema crd;
  private static FlinkOptions flink;

  @BeforeAll
  static void load() {
    crd = CrdSchema.load("META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml", "v1beta1");
    flink = FlinkOptions.discover();
  }

  @Test
  void theOptionCatalogCoversFlinkTheOperatorAndTheAutoscaler() {
    assertThat(flink.size()).isGreaterThan(800);
    assertThat(flink.classes())
        .contains(
            "org.apache.flink.configuration.CheckpointingOptions",
            "org.apache.flink.kubernetes.configuration.KubernetesConfigOptions",
            "org.apache.flink.kubernetes.operator.config.KubernetesOperatorConfigOptions",
            "org.apache.flink.autoscaler.config.AutoScalerOptions");
    assertThat(flink.known("external-resource.gpu.amount")).isTrue();
    assertThat(flink.known("metrics.reporter.prom.port")).isTrue();
    // What the check exists for: misspelt and invented keys.
    assertThat(flink.known("state.checkpoint.dir")).isFalse();
    assertThat(flink.known("job.autoscaler.enable")).isFalse();
    assertThat(flink.known("metrics.reporter.prom.prot")).isFalse();
  }

  /**
   * The operator takes {@code taskManager.replicas} over {@code job.parallelism}: with replicas
   * set, the job runs at replicas x slots whatever parallelism says, so changing parallelism (by
   * hand or in a savepoint upgrade) would do nothing. Parallelism decides; the operator derives the
   * TaskManagers.
   */
  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void parallelismDecidesAndTheOperatorDerivesTheTaskManagers(String overlay) {
    for (ObjectNode deployment : Rendered.overlay(overlay).ofKind("FlinkDeployment")) {
      assertThat(deployment.path("spec").path("taskManager").has("replicas"))
          .as("%s sets taskManager.replicas", Rendered.name(deployment))
          .isFalse();
      assertThat(deployment.path("spec").path("job").path("parallelism").asInt())
          .as("%s job.parallelism", Rendered.name(deployment))
          .isPositive();
    }
  }

  /**
   * With a JobManager or TaskManager pod template beside the shared one, the operator merges their
   * lists by position unless told to merge by name: the inference TaskManagers' GPU template once
   * replaced the shared env[0], the S3/GCS plugin switch, so those pods had no checkpoint storage.
   */
  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void podTemplatesMergeListsByName(String overlay) {
    for (ObjectNode deployment : Rendered.overlay(overlay).ofKind("FlinkDeployment")) {
      JsonNode spec = deployment.path("spec");
      boolean ownTemplate =
          spec.path("jobManager").has("podTemplate") || spec.path("taskManager").has("podTemplate");
      if (ownTemplate) {
        assertThat(
                spec.path("flinkConfiguration")
                    .path("kubernetes.operator.pod-template.merge-arrays-by-name")
                    .asText())
            .as("%s merges its pod templates by name", Rendered.name(deployment))
            .isEqualTo("true");
      }
    }
  }

  @Test
  void theStrictSchemaRefusesAMisspeltField() {
    ObjectNode deployment =
        Rendered.overlay("local").get("FlinkDeployment", "inference-job").deepCopy();
    assertThat(crd.violations(deployment)).isEmpty();
    ((ObjectNode) deployment.path("spec").path("job")).put("upgradMode", "savepoint");
    ((ObjectNode) deployment.path("spec")).put("flinkVersion", "v1_99");
    assertThat(crd.violations(deployment))
        .anySatisfy(m -> assertThat(m).contains("upgradMode"))
        .anySatisfy(m -> assertThat(m).contains("flinkVersion"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void flinkDeploymentsValidateAgainstTheOperatorCrd(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    List<ObjectNode> deployments = rendered.ofKind("FlinkDeployment");
    assertThat(deployments)
        .extracting(d -> d.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder("ingest-job", "inference-job", "bench-load", "latency-metrics");
    for (ObjectNode deployment : deployments) {
      assertThat(crd.violations(deployment)).as(Rendered.name(deployment)).isEmpty();
      JsonNode spec = deployment.path("spec");
      assertThat(spec.path("flinkVersion").asText()).isEqualTo("v1_20");
      assertThat(spec.path("mode").asText()).isEqualTo("native");
      assertThat(spec.path("job").path("upgradeMode").asText()).isEqualTo("savepoint");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void everyFlinkSettingIsAFlinkOptionWithAValueItParses(String overlay) {
    for (ObjectNode deployment : Rendered.overlay(overlay).ofKind("FlinkDeployment")) {
      Map<String, String> conf = new java.util.LinkedHashMap<>();
      deployment
          .path("spec")
          .path("flinkConfiguration")
          .fields()
          .forEachRemaining(e -> conf.put(e.getKey(), e.getValue().asText()));
      List<String> unknown = conf.keySet().stream().filter(k -> !flink.known(k)).toList();
      assertThat(unknown).as(Rendered.name(deployment) + " unknown Flink options").isEmpty();
      Configuration parsed = Configuration.fromMap(conf);
      for (String key : conf.keySet()) {
        flink
            .option(key)
            .ifPresent(
                option -> {
                  try {
                    parsed.get(option);
                  } catch (RuntimeException e) {
                    throw new AssertionError(
                        Rendered.name(deployment) + ": " + key + "=" + conf.get(key) + ": " + e, e);
                  }
                });
      }
      // Savepoint upgrades and HA need storage every pod can reach.
      assertThat(conf)
          .as(Rendered.name(deployment))
          .containsEntry("high-availability.type", "kubernetes")
          .containsKeys(
              "high-availability.storageDir",
              "state.checkpoints.dir",
              "state.savepoints.dir",
              "metrics.reporter.prom.factory.class");
      String scheme = URI.create(conf.get("state.checkpoints.dir")).getScheme();
      assertThat(scheme).isEqualTo(Map.of("eks", "s3", "gke", "gs", "local", "file").get(overlay));
      assertThat(conf).containsKey("job.autoscaler.enabled");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void jobSettingsAreOnesTheJobsAccept(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    Map<String, String> env = rendered.settings();
    Set<String> knownEnv = new HashSet<>();
    JOB_OPTIONS
        .values()
        .forEach(list -> list.forEach(o -> knownEnv.add(JobConfig.envName(o.key()))));
    assertThat(new TreeSet<>(env.keySet()))
        .as("streamrag-settings entries no job reads")
        .allSatisfy(k -> assertThat(knownEnv).contains(k));
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      JsonNode job = deployment.path("spec").path("job");
      String entry = job.path("entryClass").asText();
      assertThat(JOB_OPTIONS).as(Rendered.name(deployment)).containsKey(entry);
      List<String> args = new ArrayList<>();
      job.path("args").forEach(a -> args.add(a.asText()));
      // The job's own loader: unknown keys and unparsable values fail here as they would at start.
      JobConfig.load(args.toArray(String[]::new), env, JOB_OPTIONS.get(entry));
    }
    // The services the settings name are among the rendered resources.
    assertThat(rendered.has("Kafka", bootstrapHost(env).replace("-kafka-bootstrap", "")))
        .as("Kafka cluster behind " + env.get("STREAMRAG_KAFKA_BOOTSTRAP_SERVERS"))
        .isTrue();
    for (String url :
        List.of(
            env.get("STREAMRAG_OPENSEARCH_URL"),
            env.get("STREAMRAG_REDIS_URL"),
            env.get("STREAMRAG_LLM_ENDPOINTS"))) {
      assertThat(rendered.has("Service", URI.create(url).getHost())).as(url).isTrue();
    }
  }

  @Test
  void settingsAJobDoesNotKnowAreRefused() {
    Map<String, String> env = Rendered.overlay("local").settings();
    assertThatThrownBy(
            () -> JobConfig.load(new String[] {"--bench.rat", "5"}, env, BenchOptions.ALL))
        .hasMessageContaining("bench.rat");
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void imagesArePinnedAndEveryContainerHasResources(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    for (ObjectNode resource : rendered.resources()) {
      for (Map.Entry<String, JsonNode> image : Rendered.find(resource, "image")) {
        assertThat(image.getValue().asText())
            .as(Rendered.name(resource) + image.getKey())
            .matches(PINNED)
            .doesNotEndWith(":latest");
      }
      for (Map.Entry<String, JsonNode> containers : Rendered.find(resource, "containers")) {
        for (JsonNode container : containers.getValue()) {
          if (container.path("name").asText().equals("flink-main-container")) {
            continue; // sized by the FlinkDeployment's resource fields, checked below
          }
          for (String bound : List.of("requests", "limits")) {
            assertThat(
                    container.path("resources").path(bound).has("cpu")
                        && container.path("resources").path(bound).has("memory"))
                .as(Rendered.name(resource) + " container " + container.path("name") + " " + bound)
                .isTrue();
          }
        }
      }
    }
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      for (String process : List.of("jobManager", "taskManager")) {
        JsonNode resource = deployment.path("spec").path(process).path("resource");
        assertThat(resource.has("cpu") && resource.has("memory"))
            .as(Rendered.name(deployment) + " " + process)
            .isTrue();
      }
    }
    for (ObjectNode pool : rendered.ofKind("KafkaNodePool")) {
      assertThat(pool.path("spec").path("resources").path("limits").has("memory")).isTrue();
    }
  }

  @Test
  void dockerfileBaseImagesArePinned() throws IOException {
    try (Stream<Path> files = Files.walk(Repo.path("flink-deployments/images"))) {
      List<Path> dockerfiles = files.filter(f -> f.endsWith("Dockerfile")).toList();
      assertThat(dockerfiles).hasSize(3);
      for (Path dockerfile : dockerfiles) {
        for (String line : Files.readAllLines(dockerfile)) {
          if (line.startsWith("FROM ")) {
            assertThat(line.substring(5).trim()).as(dockerfile.toString()).matches(PINNED);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void jarUrisAreTheShadedJarsTheImageCarries(String overlay) throws Exception {
    Map<String, String> shaded = shadedJars();
    assertThat(shaded)
        .containsKeys("ingest-job.jar", "inference-job.jar", "bench-source.jar", "llm-sim.jar");
    String dockerfile =
        Files.readString(Repo.path("flink-deployments/images/flink-jobs/Dockerfile"));
    for (ObjectNode deployment : Rendered.overlay(overlay).ofKind("FlinkDeployment")) {
      JsonNode job = deployment.path("spec").path("job");
      String uri = job.path("jarURI").asText();
      assertThat(uri).as(Rendered.name(deployment)).startsWith(USRLIB);
      String jar = uri.substring(USRLIB.length());
      assertThat(shaded).as("no module builds " + jar).containsKey(jar);
      String module = shaded.get(jar);
      assertThat(dockerfile)
          .as("the image copies " + jar)
          .contains(module + "/target/" + jar + " /opt/flink/usrlib/" + jar);
      String entry = job.path("entryClass").asText();
      assertThat(Class.forName(entry).getMethod("main", String[].class)).isNotNull();
      Path built = Repo.path(module + "/target/" + jar);
      if (Files.exists(built)) { // built earlier in the same reactor run
        try (JarFile file = new JarFile(built.toFile())) {
          assertThat(file.getEntry(entry.replace('.', '/') + ".class"))
              .as(built + " holds " + entry)
              .isNotNull();
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke"})
  void cloudOverlaysPutEmbeddingAndVllmOnGpus(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    JsonNode inference = rendered.get("FlinkDeployment", "inference-job").path("spec");
    JsonNode conf = inference.path("flinkConfiguration");
    assertThat(conf.path("external-resources").asText()).isEqualTo("gpu");
    assertThat(conf.path("external-resource.gpu.amount").asText()).isEqualTo("1");
    assertThat(conf.path("external-resource.gpu.driver-factory.class").asText())
        .isEqualTo("org.apache.flink.externalresource.gpu.GPUDriverFactory");
    assertThat(conf.path("external-resource.gpu.kubernetes.config-key").asText())
        .isEqualTo("nvidia.com/gpu");
    JsonNode pod = inference.path("taskManager").path("podTemplate").path("spec");
    assertThat(
            pod.path("containers")
                .get(0)
                .path("resources")
                .path("limits")
                .path("nvidia.com/gpu")
                .asInt())
        .isEqualTo(1);
    assertThat(pod.path("nodeSelector").size()).isEqualTo(1);
    assertThat(pod.path("tolerations").get(0).path("key").asText()).isEqualTo("nvidia.com/gpu");
    assertThat(rendered.settings()).containsEntry("STREAMRAG_EMBEDDING_DEVICE", "auto");

    JsonNode vllm = rendered.get("Deployment", "vllm").path("spec").path("template").path("spec");
    JsonNode server = vllm.path("containers").get(0);
    assertThat(server.path("resources").path("limits").path("nvidia.com/gpu").asInt()).isEqualTo(1);
    assertThat(server.path("readinessProbe").path("httpGet").path("path").asText())
        .isEqualTo("/health");
    assertThat(server.path("args").toString()).contains("--enable-prefix-caching");
    assertThat(vllm.path("nodeSelector")).isEqualTo(pod.path("nodeSelector"));
    assertThat(rendered.has("Deployment", "llm-sim")).isFalse();
  }

  @Test
  void theLocalOverlayNeedsNoGpuAndRunsLlmSim() {
    Rendered rendered = Rendered.overlay("local");
    assertThat(rendered.resources().toString()).doesNotContain("nvidia.com/gpu");
    assertThat(rendered.has("Deployment", "vllm")).isFalse();
    assertThat(rendered.get("Deployment", "llm-sim")).isNotNull();
    assertThat(rendered.settings())
        .containsEntry("STREAMRAG_LLM_ENDPOINTS", "http://llm-sim:8000")
        .containsEntry("STREAMRAG_EMBEDDING_DEVICE", "cpu");
    JsonNode conf =
        rendered.get("FlinkDeployment", "inference-job").path("spec").path("flinkConfiguration");
    assertThat(conf.has("external-resources")).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void topicsFitTheKafkaCluster(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    int brokers = rendered.get("KafkaNodePool", "dual-role").path("spec").path("replicas").asInt();
    List<ObjectNode> topics = rendered.ofKind("KafkaTopic");
    assertThat(topics)
        .extracting(t -> t.path("spec").path("topicName").asText())
        .containsExactlyInAnyOrderElementsOf(
            TopicCatalog.bundled().stream().map(TopicCatalog.Topic::name).toList());
    for (ObjectNode topic : topics) {
      int replicas = topic.path("spec").path("replicas").asInt();
      int minInsync =
          Integer.parseInt(topic.path("spec").path("config").path("min.insync.replicas").asText());
      assertThat(replicas).as(Rendered.name(topic)).isBetween(1, brokers);
      assertThat(minInsync).as(Rendered.name(topic)).isBetween(1, replicas);
      assertThat(topic.path("metadata").path("labels").path("strimzi.io/cluster").asText())
          .isEqualTo("streamrag");
    }
  }

  @Test
  void aPatchThatMatchesNothingOrAnUnsupportedFieldIsRefused(
      @org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Files.writeString(
        dir.resolve("kustomization.yaml"),
        "resources: []\npatches:\n  - path: p.yaml\n    target:\n      kind: FlinkDeployment\n");
    Files.writeString(dir.resolve("p.yaml"), "- op: add\n  path: /spec/x\n  value: 1\n");
    assertThatThrownBy(() -> Kustomize.render(dir)).hasMessageContaining("matches no");
    Files.writeString(dir.resolve("kustomization.yaml"), "namePrefix: x-\nresources: []\n");
    assertThatThrownBy(() -> Kustomize.render(dir)).hasMessageContaining("namePrefix");
  }

  private static String bootstrapHost(Map<String, String> env) {
    String bootstrap = env.get("STREAMRAG_KAFKA_BOOTSTRAP_SERVERS");
    return bootstrap.substring(0, bootstrap.indexOf(':'));
  }

  /** Shaded jar name → module folder, from the modules' shade configurations. */
  private static Map<String, String> shadedJars() throws IOException {
    Map<String, String> jars = new java.util.TreeMap<>();
    Pattern finalName = Pattern.compile("<finalName>([^<]+)</finalName>");
    try (Stream<Path> poms = Files.list(Repo.root())) {
      for (Path dir : poms.filter(Files::isDirectory).toList()) {
        Path pom = dir.resolve("pom.xml");
        if (Files.exists(pom)) {
          Matcher m = finalName.matcher(Files.readString(pom));
          while (m.find()) {
            jars.put(m.group(1) + ".jar", dir.getFileName().toString());
          }
        }
      }
    }
    return jars;
  }
}
