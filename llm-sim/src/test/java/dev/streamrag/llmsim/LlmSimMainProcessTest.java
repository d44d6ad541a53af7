package dev.streamrag.llmsim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code llm-sim} as it is run, in its own JVM, with everything it writes (its own lines, Vert.x's,
 * the JVM's) captured: the API key and the admin endpoints are configured from the command line and
 * the environment, the log says how, and the key itself appears nowhere in it.
 */
@Timeout(120)
class LlmSimMainProcessTest {
  private static final String KEY = "sk-process-test-8e2f61";
  private static final Pattern LISTENING = Pattern.compile("at http://127\\.0\\.0\\.1:(\\d+)/v1");
  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":4,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}]}";

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path dir;

  /** A running llm-sim, its port, and the file its output goes to. */
  private record Sim(Process process, int port, Path log) implements AutoCloseable {
    /** Stops it as a container runtime would (SIGTERM), so its shutdown is in the log too. */
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }

    String output() throws IOException {
      return Files.readString(log, StandardCharsets.UTF_8);
    }
  }

  private Sim start(Map<String, String> environment, String... args) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                LlmSimMain.class.getName(),
                "--port",
                "0",
                "--event-loops",
                "1",
                "--served-model-name",
                "m"));
    command.addAll(List.of(args));
    Path log = dir.resolve("llm-sim-" + System.nanoTime() + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    // Only what this test sets: a developer's own VLLM_API_KEY must not leak in.
    builder.environment().remove(LlmSimMain.API_KEY_ENV);
    builder.environment().remove("LLM_SIM_ADMIN_ENDPOINTS");
    builder.environment().putAll(environment);
    Process process = builder.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher listening = LISTENING.matcher(Files.readString(log, StandardCharsets.UTF_8));
      if (listening.find()) {
        return new Sim(process, Integer.parseInt(listening.group(1)), log);
      }
      if (!process.isAlive()) {
        throw new AssertionError("llm-sim exited: " + Files.readString(log));
      }
      Thread.sleep(50);
    }
    process.destroyForcibly();
    throw new AssertionError("llm-sim did not start: " + Files.readString(log));
  }

  private HttpResponse<String> send(Sim sim, String method, String path, String body, String key)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sim.port() + path))
            .timeout(Duration.ofSeconds(20))
            .header("content-type", "application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aKeyFileGuardsV1AndTheAdminEndpointsAndNeverReachesTheLog() throws Exception {
    Path keyFile = Files.writeString(dir.resolve("api-key"), KEY + "\n");
    String output;
    try (Sim sim = start(Map.of(), "--api-key-file", keyFile.toString(), "--admin-endpoints")) {
      assertThat(send(sim, "GET", "/v1/models", null, null).statusCode()).isEqualTo(401);
      assertThat(send(sim, "GET", "/v1/models", null, "wrong-" + KEY).statusCode()).isEqualTo(401);
      assertThat(send(sim, "GET", "/v1/models", null, KEY).statusCode()).isEqualTo(200);
      assertThat(send(sim, "POST", "/v1/chat/completions", CHAT, KEY).statusCode()).isEqualTo(200);
      assertThat(send(sim, "PUT", "/admin/faults", "{\"rate503\":1}", null).statusCode())
          .isEqualTo(401);
      assertThat(send(sim, "PUT", "/admin/faults", "{\"rate503\":1}", KEY).statusCode())
          .isEqualTo(200);
      assertThat(send(sim, "POST", "/v1/chat/completions", CHAT, KEY).statusCode()).isEqualTo(503);
      assertThat(send(sim, "GET", "/health", null, null).statusCode()).isEqualTo(200);
      assertThat(send(sim, "GET", "/metrics", null, null).statusCode()).isEqualTo(200);
      sim.close();
      output = sim.output();
    }
    assertThat(output)
        .contains("/v1/* requires the API key (from --api-key-file)")
        .contains("admin endpoints (/admin/faults) on, behind the API key")
        .doesNotContain(KEY);
  }

  @Test
  void vllmApiKeyFromTheEnvironmentGuardsV1AndAdminStaysOffByDefault() throws Exception {
    String output;
    try (Sim sim = start(Map.of(LlmSimMain.API_KEY_ENV, KEY))) {
      assertThat(send(sim, "GET", "/v1/models", null, null).statusCode()).isEqualTo(401);
      assertThat(send(sim, "GET", "/v1/models", null, KEY).statusCode()).isEqualTo(200);
      HttpResponse<String> admin = send(sim, "PUT", "/admin/faults", "{\"rate503\":1}", KEY);
      assertThat(admin.statusCode()).isEqualTo(404);
      assertThat(admin.body()).contains("\"type\":\"NotFoundError\"");
      assertThat(send(sim, "POST", "/v1/chat/completions", CHAT, KEY).statusCode()).isEqualTo(200);
      sim.close();
      output = sim.output();
    }
    assertThat(output)
        .contains("/v1/* requires the API key (from VLLM_API_KEY)")
        .contains("admin endpoints (/admin/faults) off")
        .doesNotContain(KEY);
  }

  @Test
  void theAdminVariableTurnsThemOnAndTheLogWarnsWhenNothingGuardsThem() throws Exception {
    String output;
    try (Sim sim = start(Map.of("LLM_SIM_ADMIN_ENDPOINTS", "true", LlmSimMain.API_KEY_ENV, ""))) {
      assertThat(send(sim, "GET", "/v1/models", null, null).statusCode()).isEqualTo(200);
      assertThat(send(sim, "PUT", "/admin/faults", "{}", null).statusCode()).isEqualTo(200);
      sim.close();
      output = sim.output();
    }
    assertThat(output)
        .contains("no API key: /v1/* is open")
        .contains("admin endpoints (/admin/faults) on, open to anyone");
  }
}
