package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The simulated vLLM server (module {@code llm-sim}) as a child process, as a real vLLM would be:
 * its own JVM, reached over HTTP only. Faults can be changed while it runs ({@link #setFaults}),
 * through the simulator's {@code /admin/faults}, which the fixture turns on ({@code
 * --admin-endpoints}). Started with an API key, it requires the key on {@code /v1/*} and {@code
 * /admin/*} as vLLM's {@code --api-key} does, and {@link #setFaults} sends it.
 */
public final class LlmSimServer extends ManagedServer {
  private static final String CLASSPATH_RESOURCE = "streamrag/llm-sim.classpath";
  private static final String MAIN = "dev.streamrag.llmsim.LlmSimMain";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final String baseUrl;
  private final String model;
  // Null when the server was started without a key.
  private final String apiKey;

  private LlmSimServer(String baseUrl, String model, String apiKey, ServerProcess process) {
    super("llm-sim", process);
    this.baseUrl = baseUrl;
    this.model = model;
    this.apiKey = apiKey;
  }

  /**
   * Starts the simulator with a bundled {@code profile}, serving {@code model}.
   *
   * @param faultsJson a fault plan as {@code --faults} takes it, or null for none
   */
  public static LlmSimServer start(Path baseDir, String profile, String model, String faultsJson) {
    return start(baseDir, profile, model, faultsJson, List.of());
  }

  /**
   * As {@link #start(Path, String, String, String)} with more command-line flags, e.g. {@code
   * --profile-file FILE} (which takes precedence over {@code profile}).
   */
  public static LlmSimServer start(
      Path baseDir, String profile, String model, String faultsJson, List<String> extraArgs) {
    return start(baseDir, profile, model, faultsJson, extraArgs, null);
  }

  /**
   * As {@link #start(Path, String, String, String, List)}, requiring {@code apiKey} (null for none)
   * as vLLM's {@code --api-key}: clients must send {@code Authorization: Bearer KEY} to {@code
   * /v1/*}. The key reaches the server in a file only its owner can read ({@code --api-key-file}),
   * never on the command line.
   */
  public static LlmSimServer start(
      Path baseDir,
      String profile,
      String model,
      String faultsJson,
      List<String> extraArgs,
      String apiKey) {
    if (apiKey != null && apiKey.isBlank()) {
      throw new IllegalArgumentException("apiKey is blank; give null for none");
    }
    baseDir = baseDir.toAbsolutePath();
    int port = Ports.freePort();
    // Absolute: the server runs in its own folder, where a relative path would point elsewhere.
    Path dir = baseDir.toAbsolutePath().resolve("llm-sim-" + port);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-cp",
                classpath(),
                MAIN,
                "--profile",
                profile,
                "--served-model-name",
                model,
                "--port",
                String.valueOf(port),
                // setFaults needs them; llm-sim serves them only when asked.
                "--admin-endpoints"));
    if (faultsJson != null) {
      command.add("--faults");
      command.add(faultsJson);
    }
    if (apiKey != null) {
      command.add("--api-key-file");
      command.add(writeKeyFile(dir.resolve("api-key"), apiKey).toString());
    }
    command.addAll(extraArgs);
    ServerProcess process =
        ServerProcess.start(
            "llm-sim on 127.0.0.1:" + port,
            command,
            dir,
            dir.resolve("llm-sim.log"),
            // An empty VLLM_API_KEY is no key: one set in the tests' own environment must not
            // make the server refuse clients that were not given it.
            Map.of("VLLM_API_KEY", ""),
            Duration.ofSeconds(5));
    String baseUrl = "http://127.0.0.1:" + port;
    process.awaitReady(START_TIMEOUT, () -> get(baseUrl + "/health").statusCode() == 200);
    return new LlmSimServer(baseUrl, model, apiKey, process);
  }

  /** Writes {@code key} to {@code file}, readable by its owner only where the file system can. */
  private static Path writeKeyFile(Path file, String key) {
    try {
      Files.deleteIfExists(file);
      if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        Files.createFile(
            file,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      return Files.writeString(file, key, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the API key file " + file, e);
    }
  }

  /** This module's classes plus the runtime classpath the llm-sim build recorded. */
  private static String classpath() {
    return ChildClasspath.of(CLASSPATH_RESOURCE, MAIN, "streamrag-llm-sim");
  }

  private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Replaces the fault plan (JSON, as {@code PUT /admin/faults} takes it); "{}" clears it. Sends
   * the API key when the server has one.
   */
  public void setFaults(String faultsJson) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + "/admin/faults"))
            .timeout(Duration.ofSeconds(5))
            .PUT(HttpRequest.BodyPublishers.ofString(faultsJson))
            .header("Content-Type", "application/json");
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    try {
      HttpResponse<String> response =
          HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalArgumentException(
            "llm-sim refused the faults: " + response.statusCode() + " " + response.body());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code http://127.0.0.1:port}, the OpenAI base URL without {@code /v1}. */
  public String baseUrl() {
    return baseUrl;
  }

  public String model() {
    return model;
  }

  @Override
  protected String address() {
    return baseUrl;
  }
}
