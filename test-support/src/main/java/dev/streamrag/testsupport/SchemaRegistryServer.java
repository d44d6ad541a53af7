package dev.streamrag.testsupport;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real schema registry: Apicurio Registry (built by module {@code test-support/schema-registry})
 * as a child process on a free port of 127.0.0.1, with in-memory storage, serving the
 * Confluent-compatible API at {@link #confluentApiUrl()}. Starts in about 5-10 s; one per test
 * class. Stopped by PID on {@link #close()}.
 *
 * <p>Apicurio's ids in that API are content ids: global, and the same schema gets the same id under
 * every subject, as in Confluent's registry. Its default compatibility rule is NONE (Confluent's is
 * BACKWARD); {@link #requireBackwardCompatibility} sets a subject's.
 */
public final class SchemaRegistryServer extends ManagedServer {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final int port;

  private SchemaRegistryServer(int port, ServerProcess process) {
    super("schema registry (Apicurio)", process);
    this.port = port;
  }

  /** Starts a registry with its log in {@code baseDir}. */
  public static SchemaRegistryServer start(Path baseDir) {
    Path runner = ServerDists.load().schemaRegistryRunner();
    int port = Ports.freePort();
    Path dir = baseDir.resolve("schema-registry-" + port);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new ServerStartException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xms64m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.http.port=" + port,
            // No telemetry or error reporting from a test server.
            "-Dquarkus.analytics.disabled=true",
            "-jar",
            runner.toString());
    ServerProcess process =
        ServerProcess.start(
            "schema registry on 127.0.0.1:" + port,
            command,
            dir,
            dir.resolve("registry.log"),
            Map.of(),
            Duration.ofSeconds(10));
    SchemaRegistryServer server = new SchemaRegistryServer(port, process);
    process.awaitReady(
        START_TIMEOUT, () -> get(server.confluentApiUrl() + "/subjects").statusCode() == 200);
    return server;
  }

  /** The Confluent-compatible API's base URL, what {@code schema-registry.url} takes. */
  public String confluentApiUrl() {
    return "http://127.0.0.1:" + port + "/apis/ccompat/v7";
  }

  /**
   * Registers {@code schemaJson} under {@code subject} as a Confluent producer does ({@code
   * auto.register.schemas}) and returns the id it was given.
   */
  public int register(String subject, String schemaJson) {
    String body = "{\"schema\":" + quote(schemaJson) + "}";
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(
                    URI.create(confluentApiUrl() + "/subjects/" + subject + "/versions"))
                .header("Content-Type", CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "registering under "
              + subject
              + ": HTTP "
              + response.statusCode()
              + " "
              + response.body());
    }
    String text = response.body();
    return Integer.parseInt(text.replaceAll("(?s).*\"id\"\\s*:\\s*(\\d+).*", "$1"));
  }

  /** Sets {@code subject}'s compatibility rule to BACKWARD, Confluent's default. */
  public void requireBackwardCompatibility(String subject) {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(URI.create(confluentApiUrl() + "/config/" + subject))
                .header("Content-Type", CONTENT_TYPE)
                .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"BACKWARD\"}")));
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          "setting BACKWARD on "
              + subject
              + ": HTTP "
              + response.statusCode()
              + " "
              + response.body());
    }
  }

  /** A JSON string literal (test-support has no JSON library on its main classpath). */
  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }

  @Override
  protected String address() {
    return confluentApiUrl();
  }

  private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Sends {@code request}, retrying 5xx answers for up to 15 s as a registry client would: Apicurio
   * on in-memory H2 answers 500 ("Timeout trying to lock table") when two first registrations race,
   * as the test's and the job's do.
   */
  private static HttpResponse<String> send(HttpRequest.Builder request) {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    try {
      while (true) {
        HttpResponse<String> response =
            HTTP.send(
                request.timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() < 500 || System.nanoTime() > deadline) {
          return response;
        }
        Thread.sleep(200);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
