package dev.streamrag.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.bench.load.Scenario;
import dev.streamrag.devstack.LocalStack;
import dev.streamrag.testsupport.Ports;
import dev.streamrag.testsupport.ServerProcess;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboards and alert rules against live data: the local stack runs a short load while a real
 * Prometheus (Debian's package; {@code .ci/run} installs it) scrapes Flink's reporter and llm-sim
 * with the shipped scrape jobs and rules, the Kubernetes discovery swapped for the local addresses.
 * Every panel query must return data (GPU panels, marked, need only be valid); every metric an
 * alert or panel names must exist; every rule must load and evaluate without error.
 */
class DashboardQueriesIT {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void everyPanelAndAlertQueryEvaluatesOnLiveMetrics(@TempDir Path dir) throws Exception {
    Path binary = prometheusBinary();
    Map<String, String> settings =
        Map.of(
            "bench.run-id", "dashboards-it",
            "bench.duration", "20 s",
            "bench.rate", "4",
            "bench.rag-share", "0.75",
            "bench.max-tokens", "uniform:16,48",
            "bench.results-dir", dir.resolve("results").toString(),
            "bench.warmup", "2 s");
    try (LocalStack stack = LocalStack.start(dir.resolve("stack"), "0", settings, line -> {})) {
      URI flink = URI.create(stack.metricsUrl());
      URI llm = URI.create(stack.endpoints().get("llm.endpoints"));
      int port = Ports.freePort();
      Path config =
          writeConfig(
              dir, flink.getHost() + ":" + flink.getPort(), llm.getHost() + ":" + llm.getPort());
      try (ServerProcess prometheus =
          ServerProcess.start(
              "Prometheus",
              List.of(
                  binary.toString(),
                  "--config.file=" + config,
                  "--storage.tsdb.path=" + dir.resolve("prometheus-data"),
                  "--web.listen-address=127.0.0.1:" + port,
                  "--log.level=warn"),
              dir,
              dir.resolve("prometheus.log"),
              Map.of(),
              Duration.ofSeconds(10))) {
        String api = "http://127.0.0.1:" + port;
        prometheus.awaitReady(
            Duration.ofSeconds(30), () -> get(api + "/-/ready").statusCode() == 200);

        // A request for a model nobody serves: a REJECTED response with an error code, so the
        // "errors by code" series exists.
        rejectedRequest(stack.kafkaBootstrap());
        Configuration bench = stack.benchConfig(settings);
        JobID load = stack.startLoad(bench, Scenario.from(bench));
        assertThat(stack.awaitJob(load)).isEqualTo(JobStatus.FINISHED);

        // Let the last responses reach the latency sink and two more scrapes happen.
        List<Dashboards.Query> panels = Dashboards.panelQueries();
        List<Dashboards.Query> alerts = Dashboards.alertQueries();
        List<String> problems = List.of();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
          problems = problems(api, panels, alerts);
          if (problems.isEmpty()) {
            break;
          }
          Thread.sleep(2_000);
        }
        assertThat(problems).as("queries without data, unknown metrics or rule errors").isEmpty();
      }
    }
  }

  private static List<String> problems(
      String api, List<Dashboards.Query> panels, List<Dashboards.Query> alerts) throws Exception {
    List<String> problems = new ArrayList<>();
    Set<String> names = new HashSet<>();
    query(api + "/api/v1/label/__name__/values").path("data").forEach(n -> names.add(n.asText()));
    List<Dashboards.Query> all = new ArrayList<>(panels);
    all.addAll(alerts);
    for (Dashboards.Query query : all) {
      JsonNode result = query(api + "/api/v1/query?query=" + encode(query.expr()));
      if (!result.path("status").asText().equals("success")) {
        problems.add(query.source() + ": " + result.path("error").asText());
        continue;
      }
      boolean isAlert = alerts.contains(query);
      if (!isAlert && !query.gpu() && result.path("data").path("result").isEmpty()) {
        problems.add(query.source() + ": no data for " + query.expr());
      }
      for (String selector : Dashboards.selectors(query.expr())) {
        String name = Dashboards.metricName(selector);
        if (query.gpu()) {
          if (!name.startsWith("DCGM_")) {
            problems.add(query.source() + ": GPU panel with a non-DCGM metric " + name);
          }
          continue;
        }
        if (!names.contains(name)) {
          problems.add(query.source() + ": unknown metric " + name);
        } else if (query(api + "/api/v1/query?query=" + encode(selector))
            .path("data")
            .path("result")
            .isEmpty()) {
          problems.add(query.source() + ": no series for " + selector);
        }
      }
    }
    JsonNode groups = query(api + "/api/v1/rules").path("data").path("groups");
    int rules = 0;
    for (JsonNode group : groups) {
      for (JsonNode rule : group.path("rules")) {
        rules++;
        if (!rule.path("health").asText().equals("ok")) {
          problems.add(
              "rule "
                  + rule.path("name").asText()
                  + ": health "
                  + rule.path("health").asText()
                  + " "
                  + rule.path("lastError").asText());
        }
      }
    }
    if (rules != alerts.size()) {
      problems.add("Prometheus loaded " + rules + " rules, alerts.yaml has " + alerts.size());
    }
    JsonNode targets = query(api + "/api/v1/targets").path("data").path("activeTargets");
    for (JsonNode target : targets) {
      if (!target.path("health").asText().equals("up")) {
        problems.add(
            "target "
                + target.path("labels").path("job").asText()
                + " is "
                + target.path("health").asText()
                + ": "
                + target.path("lastError").asText());
      }
    }
    return problems;
  }

  /** The shipped prometheus.yaml with static local targets instead of Kubernetes discovery. */
  private static Path writeConfig(Path dir, String flink, String llm) throws Exception {
    ObjectNode config =
        (ObjectNode) Yaml.single(Repo.path("dashboards/prometheus/prometheus.yaml"));
    ObjectNode global = (ObjectNode) config.path("global");
    global.put("scrape_interval", "1s");
    global.put("evaluation_interval", "1s");
    Map<String, String> targets = Map.of("streamrag-flink", flink, "streamrag-llm", llm);
    ArrayNode jobs = Yaml.JSON.createArrayNode();
    Set<String> shipped = new HashSet<>();
    for (JsonNode job : config.path("scrape_configs")) {
      String name = job.path("job_name").asText();
      shipped.add(name);
      if (!targets.containsKey(name)) {
        continue; // the DCGM exporter: no GPUs here
      }
      ObjectNode local = ((ObjectNode) job).deepCopy();
      local.remove(List.of("kubernetes_sd_configs", "relabel_configs"));
      local.putArray("static_configs").addObject().putArray("targets").add(targets.get(name));
      jobs.add(local);
    }
    assertThat(shipped).contains("streamrag-flink", "streamrag-llm", "dcgm-exporter");
    config.set("scrape_configs", jobs);
    Files.copy(Repo.path("dashboards/prometheus/alerts.yaml"), dir.resolve("alerts.yaml"));
    Path file = dir.resolve("prometheus.yaml");
    Yaml.MAPPER.writeValue(file.toFile(), config);
    return file;
  }

  private static void rejectedRequest(String bootstrap) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.send(
          new ProducerRecord<>(
              "rag.requests",
              "dashboards-it-rejected",
              "{\"requestId\":\"dashboards-it-rejected\",\"tenantId\":\"acme\",\"kind\":\"CHAT\","
                  + "\"model\":\"no-such-model\","
                  + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"));
      producer.flush();
    }
  }

  private static Path prometheusBinary() {
    return ExternalTool.require(
            "prometheus",
            "PROMETHEUS_BIN",
            "STREAMRAG_REQUIRE_PROMETHEUS",
            "apt-get install prometheus (Debian)")
        .binary();
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode query(String url) throws Exception {
    return Yaml.JSON.readTree(get(url).body());
  }

  private static String encode(String expr) {
    return URLEncoder.encode(expr, StandardCharsets.UTF_8);
  }
}
