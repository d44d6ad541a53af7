package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.bench.metrics.LatencyMetricsJob;
import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.ingest.IngestOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The deployment with authentication on (issue 20), as each overlay renders it: no secret is
 * written out where a ConfigMap, an environment value or an argument would show it; every Secret a
 * pod needs exists in the local overlay and is only expected elsewhere; every secret reference a
 * job or the gateway is given resolves to a file mounted in its pod; Redis, OpenSearch, the LLM
 * server and Kafka admit the pods that need them and not the load generator; the Kafka users' ACLs
 * name what the jobs use. Each check also runs on a deliberately broken copy, which it must refuse.
 */
class DeploymentSecurityTest {
  private static final List<String> OVERLAYS = List.of("eks", "gke", "local");
  private static final String LOCAL_ONLY = "streamrag.dev/local-only";

  // ---------------------------------------------------------------- secrets written out

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void noSecretIsWrittenOutInConfigMapsEnvOrArguments(String overlay) {
    assertThat(SecretChecks.literals(Rendered.overlay(overlay))).isEmpty();
  }

  @Test
  void secretNamesAreToldFromNamesOfWhereASecretIs() {
    assertThat(
            List.of(
                "STREAMRAG_LLM_API_KEY",
                "STREAMRAG_REDIS_PASSWORD",
                "sasl.jaas.config",
                "ssl.key.password",
                "api-keys",
                "requirepass",
                "OPENSEARCH_INITIAL_ADMIN_PASSWORD",
                "HF_TOKEN",
                "clientSecret"))
        .allSatisfy(name -> assertThat(SecretChecks.secretNamed(name)).as(name).isTrue());
    assertThat(
            List.of(
                "STREAMRAG_GATEWAY_API_KEYS_FILE",
                "STREAMRAG_OPENSEARCH_CA_FILE",
                "STREAMRAG_PIECES_COALESCE_TOKENS",
                "ssl.truststore.location",
                "ssl.truststore.type",
                "key.serializer",
                "plugins.security.ssl.http.pemkey_filepath",
                "external-resource.gpu.kubernetes.config-key",
                "STREAMRAG_OPENSEARCH_USERNAME"))
        .allSatisfy(name -> assertThat(SecretChecks.secretNamed(name)).as(name).isFalse());
  }

  @Test
  void aSecretWrittenOutIsFound() {
    Rendered broken =
        broken(
            "local",
            r -> {
              settings(r).put("STREAMRAG_REDIS_PASSWORD", "hunter2");
              ObjectNode client =
                  (ObjectNode) r.get("ConfigMap", "streamrag-kafka-client").path("data");
              client.put(
                  "client.properties",
                  client
                      .path("client.properties")
                      .asText()
                      .replace(
                          "${dir:/etc/streamrag/secrets/kafka:sasl.jaas.config}",
                          "org.apache.kafka.common.security.scram.ScramLoginModule required"
                              + " username=\"u\" password=\"p\";"));
              ObjectNode llm = container(r.get("Deployment", "llm-sim"), 0);
              ((ArrayNode) llm.withArray("env"))
                  .addObject()
                  .put("name", "HF_TOKEN")
                  .put("value", "hf_x");
              llm.withArray("args").add("--api-key").add("abc123");
              r.get("FlinkDeployment", "inference-job")
                  .with("spec")
                  .with("job")
                  .withArray("args")
                  .add("--llm.api-key")
                  .add("abc123");
            });
    assertThat(SecretChecks.literals(broken))
        .hasSize(5)
        .anySatisfy(
            m -> assertThat(m).contains("streamrag-settings").contains("STREAMRAG_REDIS_PASSWORD"))
        .anySatisfy(m -> assertThat(m).contains("client.properties").contains("sasl.jaas.config"))
        .anySatisfy(m -> assertThat(m).contains("llm-sim").contains("HF_TOKEN"))
        .anySatisfy(m -> assertThat(m).contains("llm-sim").contains("args: api-key"))
        .anySatisfy(m -> assertThat(m).contains("inference-job job.args: llm.api-key"));
  }

  // ---------------------------------------------------------------- Secrets exist

  @Test
  void everySecretAPodNeedsExistsInTheLocalOverlay() {
    Rendered local = Rendered.overlay("local");
    assertThat(SecretChecks.missing(local, SecretChecks.provided(local))).isEmpty();
    assertThat(SecretChecks.referenced(local).keySet())
        .contains(
            "streamrag-redis",
            "streamrag-vllm",
            "streamrag-opensearch-admin",
            "streamrag-opensearch-ingest",
            "streamrag-opensearch-inference",
            "streamrag-opensearch-tls",
            "streamrag-gateway-keys",
            "streamrag-cluster-ca-cert",
            "streamrag-kafka-inference",
            "streamrag-kafka-ingest",
            "streamrag-kafka-bench",
            "streamrag-kafka-gateway");
  }

  /**
   * base, eks and gke commit no Secret; what they need beyond the operators' Secrets is what the
   * local overlay generates (with development values, labelled local-only) and docs/security.md
   * tells users to create.
   */
  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke"})
  void cloudOverlaysCommitNoSecretAndNeedWhatLocalGenerates(String overlay) {
    Rendered cloud = Rendered.overlay(overlay);
    assertThat(cloud.ofKind("Secret")).as("%s renders Secrets", overlay).isEmpty();
    Set<String> userProvided = new TreeSet<>(SecretChecks.referenced(cloud).keySet());
    userProvided.removeAll(SecretChecks.provided(cloud).keySet());
    assertThat(userProvided).isEqualTo(localSecrets().keySet());
    assertThat(SecretChecks.missing(cloud, withLocalSecrets(cloud))).isEmpty();
  }

  @Test
  void theLocalSecretsAreMarkedLocalOnlyAndDocumented() throws IOException {
    Rendered local = Rendered.overlay("local");
    assertThat(local.ofKind("Secret")).isNotEmpty();
    for (ObjectNode secret : local.ofKind("Secret")) {
      assertThat(secret.path("metadata").path("labels").path(LOCAL_ONLY).asText())
          .as(Rendered.name(secret))
          .isEqualTo("true");
    }
    String docs = Files.readString(Repo.path("docs/security.md"));
    localSecrets()
        .forEach(
            (name, keys) -> {
              assertThat(docs)
                  .as("docs/security.md names Secret %s", name)
                  .contains("`" + name + "`");
              keys.forEach(
                  k ->
                      assertThat(docs)
                          .as("docs/security.md names key %s", k)
                          .contains("`" + k + "`"));
            });
  }

  @Test
  void aMissingSecretOrKeyIsFound() {
    Rendered broken =
        broken(
            "local",
            r -> {
              r.resources().remove(r.get("Secret", "streamrag-redis"));
              ObjectNode bench = r.get("FlinkDeployment", "bench-load");
              for (JsonNode volume :
                  bench.path("spec").path("podTemplate").path("spec").path("volumes")) {
                if (volume.path("name").asText().equals("kafka-cluster-ca")) {
                  ((ObjectNode) volume.path("secret").path("items").get(0)).put("key", "ca.pem");
                }
              }
            });
    assertThat(SecretChecks.missing(broken, SecretChecks.provided(broken)))
        .anySatisfy(m -> assertThat(m).contains("streamrag-redis").contains("nothing makes it"))
        .anySatisfy(
            m -> assertThat(m).contains("streamrag-cluster-ca-cert").contains("no key ca.pem"));
  }

  // ---------------------------------------------------------------- references resolve

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void everySecretReferenceResolvesInsideItsPod(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    Map<String, String> settings = rendered.settings();
    // What the check follows is there to follow: references, the properties file, the CA file.
    assertThat(settings.get("STREAMRAG_KAFKA_PROPERTIES_FILE")).isNotBlank();
    assertThat(settings.get("STREAMRAG_OPENSEARCH_CA_FILE")).isNotBlank();
    for (String name :
        List.of(
            "STREAMRAG_REDIS_PASSWORD", "STREAMRAG_OPENSEARCH_PASSWORD", "STREAMRAG_LLM_API_KEY")) {
      assertThat(SecretChecks.isReference(settings.get(name))).as(name).isTrue();
    }
    assertThat(settings.get("STREAMRAG_OPENSEARCH_URL")).startsWith("https://");
    // Every job follows its Kafka client properties, so the check covers every job's credentials.
    for (ObjectNode deployment : rendered.ofKind("FlinkDeployment")) {
      String entry = deployment.path("spec").path("job").path("entryClass").asText();
      assertThat(JobSettings.envReadBy(entry))
          .as(Rendered.name(deployment))
          .contains("STREAMRAG_KAFKA_PROPERTIES_FILE");
    }
    assertThat(SecretChecks.unresolved(rendered, withLocalSecrets(rendered))).isEmpty();
  }

  @Test
  void aReferenceItsPodCannotResolveIsFound() {
    Rendered broken =
        broken(
            "local",
            r -> {
              // The inference job without Redis's password mounted; the gateway's Kafka credentials
              // from a Secret without the JAAS key.
              ObjectNode pod =
                  r.get("FlinkDeployment", "inference-job").with("spec").with("podTemplate");
              ArrayNode mounts =
                  (ArrayNode) pod.path("spec").path("containers").get(0).path("volumeMounts");
              for (int i = mounts.size() - 1; i >= 0; i--) {
                if (mounts.get(i).path("name").asText().equals("redis-credentials")) {
                  mounts.remove(i);
                }
              }
              for (JsonNode volume : spec(r.get("StatefulSet", "gateway")).path("volumes")) {
                if (volume.path("name").asText().equals("kafka-credentials")) {
                  ((ObjectNode) volume.path("secret")).put("secretName", "streamrag-redis");
                }
              }
            });
    assertThat(SecretChecks.unresolved(broken, SecretChecks.provided(broken)))
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains("inference-job")
                    .contains("STREAMRAG_REDIS_PASSWORD")
                    .contains("/etc/streamrag/secrets/redis/password is not in any volume"))
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains("StatefulSet/gateway")
                    .contains("sasl.jaas.config")
                    .contains("Secret streamrag-redis"));
  }

  // ---------------------------------------------------------------- network access

  @ParameterizedTest
  @ValueSource(strings = {"eks", "gke", "local"})
  void eachServiceAdmitsOnlyThePodsThatNeedIt(String overlay) {
    Rendered rendered = Rendered.overlay(overlay);
    assertThat(rendered.ofKind("NetworkPolicy")).isNotEmpty();
    assertThat(accessViolations(rendered)).isEmpty();
  }

  @Test
  void aServiceOpenToAllIsFound() {
    Rendered broken =
        broken(
            "local",
            r -> {
              ((ObjectNode) r.get("NetworkPolicy", "redis").path("spec").path("ingress").get(0))
                  .putArray("from")
                  .addObject()
                  .putObject("podSelector");
              r.resources().remove(r.get("NetworkPolicy", "opensearch"));
              for (JsonNode listener :
                  r.get("Kafka", "streamrag").path("spec").path("kafka").path("listeners")) {
                ((ObjectNode) listener).remove("networkPolicyPeers");
              }
            });
    assertThat(accessViolations(broken))
        .anySatisfy(m -> assertThat(m).contains("bench-load").contains("Deployment/redis:6379"))
        .anySatisfy(m -> assertThat(m).contains("StatefulSet/opensearch is open to every pod"))
        .anySatisfy(m -> assertThat(m).contains("listener tls").contains("no networkPolicyPeers"));
  }

  /** What is wrong with who may reach whom, as readable lines. */
  static List<String> accessViolations(Rendered rendered) {
    List<String> problems = new ArrayList<>();
    NetworkAccess access = NetworkAccess.of(rendered);
    List<Pods.Pod> pods = Pods.of(rendered);
    Pods.Pod redis = single(pods, "redis");
    Pods.Pod opensearch = single(pods, "opensearch");
    Pods.Pod llm =
        pods.stream()
            .filter(p -> isApp(p, "vllm") || isApp(p, "llm-sim"))
            .findFirst()
            .orElseThrow();
    Map<Pods.Pod, Integer> services = Map.of(redis, 6379, opensearch, 9200, llm, 8000);
    services
        .keySet()
        .forEach(
            s -> {
              if (!access.isolated(s)) {
                problems.add(s.name() + " is open to every pod: no NetworkPolicy selects it");
              }
            });

    Map<String, List<Pods.Pod>> needs = new TreeMap<>();
    needs.put("inference-job", List.of(redis, opensearch, llm));
    needs.put("ingest-job", List.of(opensearch));
    for (Pods.Pod pod : pods) {
      String cluster = pod.isFlink() ? pod.labels().get("app") : null;
      List<Pods.Pod> needed = cluster == null ? List.of() : needs.getOrDefault(cluster, List.of());
      if (!pod.isFlink() && !isApp(pod, "gateway")) {
        continue;
      }
      NetworkAccess.Source source = NetworkAccess.Source.inPlatform(pod);
      services.forEach(
          (service, port) -> {
            boolean admitted = access.admits(source, service, port);
            if (needed.contains(service) && !admitted) {
              problems.add(
                  pod.name() + " needs " + service.name() + ":" + port + " and is refused");
            } else if (!needed.contains(service) && admitted) {
              problems.add(
                  pod.name()
                      + " does not need "
                      + service.name()
                      + ":"
                      + port
                      + " and is admitted");
            }
          });
    }

    // Kafka: Strimzi turns each listener's peers into the brokers' NetworkPolicy; no peers, no
    // limit.
    for (ObjectNode kafka : rendered.ofKind("Kafka")) {
      for (JsonNode listener : kafka.path("spec").path("kafka").path("listeners")) {
        String name = Rendered.name(kafka) + " listener " + listener.path("name").asText();
        JsonNode peers = listener.path("networkPolicyPeers");
        if (peers.isMissingNode() || peers.isEmpty()) {
          problems.add(name + " has no networkPolicyPeers: every pod reaches it");
          continue;
        }
        for (Pods.Pod pod : pods) {
          boolean client = pod.isFlink() || isApp(pod, "gateway");
          boolean admitted = NetworkAccess.admitsFrom(peers, NetworkAccess.Source.inPlatform(pod));
          if (client != admitted) {
            problems.add(name + (admitted ? " admits " : " refuses ") + pod.name());
          }
        }
      }
    }

    // Flink: a cluster's pods talk among themselves; the REST API answers the operator only.
    NetworkAccess.Source operator =
        NetworkAccess.Source.elsewhere(
            "the Flink operator",
            "flink-operator",
            Map.of("app.kubernetes.io/name", "flink-kubernetes-operator"));
    for (Pods.Pod jobManager : pods) {
      if (!jobManager.isFlink() || !"jobmanager".equals(jobManager.labels().get("component"))) {
        continue;
      }
      if (!access.admits(operator, jobManager, 8081)) {
        problems.add("the Flink operator cannot reach " + jobManager.name() + " REST API");
      }
      for (Pods.Pod other : pods) {
        boolean sameCluster =
            other.isFlink() && other.labels().get("app").equals(jobManager.labels().get("app"));
        NetworkAccess.Source source = NetworkAccess.Source.inPlatform(other);
        if (sameCluster && !access.admits(source, jobManager, 6123)) {
          problems.add(other.name() + " cannot reach its JobManager's RPC port");
        }
        if (!sameCluster && access.admits(source, jobManager, 8081)) {
          problems.add(other.name() + " reaches " + jobManager.name() + " REST API");
        }
      }
    }

    // Prometheus, where the monitoring component is in: the metrics ports, nothing else.
    if (!rendered.ofKind("PodMonitor").isEmpty()) {
      NetworkAccess.Source prometheus =
          NetworkAccess.Source.elsewhere(
              "Prometheus", "monitoring", Map.of("app.kubernetes.io/name", "prometheus"));
      for (Pods.Pod pod : pods) {
        if (pod.isFlink() && !access.admits(prometheus, pod, 9249)) {
          problems.add("Prometheus cannot scrape " + pod.name());
        }
      }
      if (!access.admits(prometheus, llm, 8000)) {
        problems.add("Prometheus cannot scrape " + llm.name());
      }
      if (access.admits(prometheus, redis, 6379)) {
        problems.add("Prometheus reaches " + redis.name());
      }
    }
    return problems;
  }

  // ---------------------------------------------------------------- Kafka users

  /**
   * Each Kafka user's ACLs name the topics, groups and transactional ids its jobs use by default,
   * each a topic of topics.yaml; none is a wildcard, the cluster or All.
   */
  @Test
  void kafkaUsersHoldLeastPrivilegeOnWhatTheJobsUse() {
    Rendered local = Rendered.overlay("local");
    Set<String> topics = new TreeSet<>();
    local.ofKind("KafkaTopic").forEach(t -> topics.add(t.path("spec").path("topicName").asText()));
    Map<String, Set<String>> grants = new TreeMap<>();
    for (ObjectNode user : local.ofKind("KafkaUser")) {
      String name = user.path("metadata").path("name").asText();
      assertThat(user.path("spec").path("authentication").path("type").asText())
          .isEqualTo("scram-sha-512");
      for (JsonNode acl : user.path("spec").path("authorization").path("acls")) {
        JsonNode resource = acl.path("resource");
        String type = resource.path("type").asText();
        String resourceName = resource.path("name").asText();
        assertThat(type).as(name).isIn("topic", "group", "transactionalId");
        assertThat(resourceName).as(name).isNotBlank().doesNotContain("*");
        if (type.equals("topic")) {
          assertThat(topics).as("%s: topic %s", name, resourceName).contains(resourceName);
          assertThat(resource.path("patternType").asText("literal")).isEqualTo("literal");
        } else {
          assertThat(resourceName).as(name).startsWith("streamrag-");
        }
        for (JsonNode operation : acl.path("operations")) {
          assertThat(operation.asText()).as(name).isIn("Read", "Write", "Describe");
          grants
              .computeIfAbsent(name, n -> new TreeSet<>())
              .add(type + ":" + resourceName + ":" + operation.asText());
        }
      }
    }
    assertThat(grants)
        .containsOnlyKeys(
            "streamrag-kafka-inference",
            "streamrag-kafka-ingest",
            "streamrag-kafka-bench",
            "streamrag-kafka-gateway");
    String txn = InferenceOptions.TRANSACTIONAL_ID_PREFIX.defaultValue() + "-";
    assertThat(grants.get("streamrag-kafka-inference"))
        .contains(
            "topic:" + InferenceOptions.REQUESTS_TOPIC.defaultValue() + ":Read",
            "group:" + InferenceOptions.CONSUMER_GROUP.defaultValue() + ":Read",
            "topic:" + InferenceOptions.RESPONSES_TOPIC.defaultValue() + ":Write",
            "topic:" + InferenceOptions.LATENCY_TOPIC.defaultValue() + ":Write",
            "topic:" + InferenceOptions.PIECES_TOPIC.defaultValue() + ":Write",
            "topic:" + InferenceOptions.DEAD_LETTER_TOPIC.defaultValue() + ":Write",
            "transactionalId:" + txn + ":Write")
        .noneMatch(g -> g.startsWith("topic:rag.documents"));
    assertThat(grants.get("streamrag-kafka-ingest"))
        .containsExactlyInAnyOrder(
            "topic:" + IngestOptions.DOCUMENTS_TOPIC.defaultValue() + ":Read",
            "topic:" + IngestOptions.DOCUMENTS_TOPIC.defaultValue() + ":Describe",
            "group:" + IngestOptions.CONSUMER_GROUP.defaultValue() + ":Read",
            "group:" + IngestOptions.CONSUMER_GROUP.defaultValue() + ":Describe",
            "topic:" + IngestOptions.DEAD_LETTER_TOPIC.defaultValue() + ":Write",
            "topic:" + IngestOptions.DEAD_LETTER_TOPIC.defaultValue() + ":Describe");
    assertThat(grants.get("streamrag-kafka-bench"))
        .contains("group:" + LatencyMetricsJob.NAME + ":Read", "topic:rag.requests:Write")
        .noneMatch(g -> g.endsWith(":Write") && !g.startsWith("topic:rag.requests:"));
    assertThat(grants.get("streamrag-kafka-gateway"))
        .containsExactlyInAnyOrder(
            "topic:rag.requests:Write",
            "topic:rag.requests:Describe",
            "topic:rag.pieces:Read",
            "topic:rag.pieces:Describe");
    // The transactional ids the inference job's sinks use fall under its prefix ACL.
    assertThat(InferenceOptions.TRANSACTIONAL_ID_PREFIX.defaultValue() + "-responses")
        .startsWith(txn);
    assertThat(InferenceOptions.TRANSACTIONAL_ID_PREFIX.defaultValue() + "-latency")
        .startsWith(txn);
  }

  @Test
  void kafkaHasNoPlaintextListenerAndAuthorizes() {
    for (String overlay : OVERLAYS) {
      JsonNode kafka =
          Rendered.overlay(overlay).get("Kafka", "streamrag").path("spec").path("kafka");
      assertThat(kafka.path("authorization").path("type").asText()).as(overlay).isEqualTo("simple");
      assertThat(kafka.path("listeners"))
          .as(overlay)
          .isNotEmpty()
          .allSatisfy(
              l -> {
                assertThat(l.path("tls").asBoolean()).as("%s listener tls", overlay).isTrue();
                assertThat(l.path("authentication").path("type").asText())
                    .isEqualTo("scram-sha-512");
              });
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The Secrets the local overlay generates, name → keys: what users create elsewhere. */
  private static Map<String, Set<String>> localSecrets() {
    Map<String, Set<String>> secrets = new TreeMap<>();
    for (ObjectNode secret : Rendered.overlay("local").ofKind("Secret")) {
      Set<String> keys = new TreeSet<>();
      secret.path("data").fieldNames().forEachRemaining(keys::add);
      secrets.put(secret.path("metadata").path("name").asText(), keys);
    }
    return secrets;
  }

  private static Map<String, Set<String>> withLocalSecrets(Rendered rendered) {
    Map<String, Set<String>> provided = new TreeMap<>(localSecrets());
    provided.putAll(SecretChecks.provided(rendered));
    return provided;
  }

  /** A deep copy of an overlay, changed by {@code change}. */
  private static Rendered broken(String overlay, Consumer<Rendered> change) {
    List<ObjectNode> copy = new ArrayList<>();
    Rendered.overlay(overlay).resources().forEach(r -> copy.add(r.deepCopy()));
    Rendered broken = new Rendered(overlay + " (broken)", copy);
    change.accept(broken);
    return broken;
  }

  private static ObjectNode settings(Rendered rendered) {
    return (ObjectNode) rendered.get("ConfigMap", "streamrag-settings").path("data");
  }

  private static JsonNode spec(ObjectNode workload) {
    return workload.path("spec").path("template").path("spec");
  }

  private static ObjectNode container(ObjectNode workload, int index) {
    return (ObjectNode) spec(workload).path("containers").get(index);
  }

  private static boolean isApp(Pods.Pod pod, String name) {
    return name.equals(pod.labels().get("app.kubernetes.io/name"));
  }

  private static Pods.Pod single(List<Pods.Pod> pods, String app) {
    List<Pods.Pod> found = pods.stream().filter(p -> isApp(p, app)).toList();
    assertThat(found).as("pods of %s", app).hasSize(1);
    return found.get(0);
  }
}
