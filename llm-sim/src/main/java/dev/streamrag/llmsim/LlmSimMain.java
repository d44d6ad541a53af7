package dev.streamrag.llmsim;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.EngineProfiles;
import dev.streamrag.llmsim.server.FaultPlan;
import dev.streamrag.llmsim.server.SimServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar llm-sim.jar --profile NAME --port N}: serves until stopped (Ctrl-C, SIGTERM).
 */
@Command(
    name = "llm-sim",
    mixinStandardHelpOptions = true,
    description = "A vLLM-compatible OpenAI API server that simulates a model's latency.")
public final class LlmSimMain implements Callable<Integer> {

  @Option(
      names = "--profile",
      defaultValue = "${env:LLM_SIM_PROFILE:-qwen2.5-0.5b-l4}",
      description =
          "Bundled profile: qwen2.5-0.5b-l4, llama-3.1-8b-h100, llama-3.2-1b-cpu (default: ${DEFAULT-VALUE}; env LLM_SIM_PROFILE).")
  String profile;

  @Option(
      names = "--profile-file",
      description = "A profile properties file of your own; overrides --profile.")
  Path profileFile;

  @Option(
      names = "--host",
      defaultValue = "${env:LLM_SIM_HOST:-127.0.0.1}",
      description =
          "Address to listen on (default: ${DEFAULT-VALUE}; env LLM_SIM_HOST); 0.0.0.0 in a"
              + " container.")
  String host;

  @Option(
      names = "--port",
      defaultValue = "${env:LLM_SIM_PORT:-8000}",
      description = "Port (default: ${DEFAULT-VALUE}; env LLM_SIM_PORT; 0 picks a free one).")
  int port;

  @Option(
      names = "--served-model-name",
      description = "Model name clients must send (default: the profile's name).")
  String servedModelName;

  @Option(
      names = "--max-body-bytes",
      defaultValue = "8388608",
      description = "Larger request bodies get HTTP 413 (default: ${DEFAULT-VALUE}).")
  long maxBodyBytes;

  @Option(
      names = "--faults",
      description =
          "Initial fault plan as JSON, e.g. '{\"rate503\":0.05,\"firstTokenDelayMillis\":200}';"
              + " change it at run time with PUT /admin/faults (needs --admin-endpoints).")
  String faults;

  @Option(
      names = "--admin-endpoints",
      defaultValue = "${env:LLM_SIM_ADMIN_ENDPOINTS:-false}",
      description =
          "Serve /admin/faults, which reads and changes the fault plan (default: off; env"
              + " LLM_SIM_ADMIN_ENDPOINTS=true). Anyone who reaches the port can then make every"
              + " request fail, unless an API key is set: it guards /admin/* too.")
  boolean adminEndpoints;

  @Option(
      names = "--api-key-file",
      paramLabel = "PATH",
      description =
          "A file holding the API key (surrounding whitespace is trimmed): requests to /v1/* and"
              + " /admin/* must send 'Authorization: Bearer KEY', others get 401, as vLLM's"
              + " --api-key. /health and /metrics stay open. Overrides env VLLM_API_KEY.")
  Path apiKeyFile;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description =
          "The API key itself, as vLLM's --api-key. Other users of this machine can read it in the"
              + " process list: prefer --api-key-file or env VLLM_API_KEY.")
  String apiKey;

  @Option(
      names = "--event-loops",
      description =
          "HTTP event loops sharing the port (default: one per core). More spreads many streams'"
              + " writes; the engine has its own thread regardless.")
  Integer eventLoops;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** vLLM's variable for its API key, read when neither key option is given. */
  static final String API_KEY_ENV = "VLLM_API_KEY";

  private final Function<String, String> environment;

  public LlmSimMain() {
    this(System::getenv);
  }

  /** With {@code environment} in place of the process's, for tests. */
  LlmSimMain(Function<String, String> environment) {
    this.environment = environment;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new LlmSimMain()).execute(args));
  }

  /** The API key to require and where it came from (never printed), or none. */
  record ApiKey(String value, String source) {
    static final ApiKey NONE = new ApiKey(null, null);

    @Override
    public String toString() {
      return value == null ? "no API key" : "API key from " + source;
    }
  }

  /**
   * The key from --api-key-file, else --api-key, else VLLM_API_KEY. An empty variable means no key,
   * as in vLLM; an empty file or option is a mistake that would leave the server open, so it fails.
   *
   * @throws IllegalArgumentException with a message for the user (never holding the key)
   */
  ApiKey resolveApiKey() {
    if (apiKeyFile != null && apiKey != null) {
      throw new IllegalArgumentException("give --api-key-file or --api-key, not both");
    }
    if (apiKeyFile != null) {
      String key;
      try {
        key = Files.readString(apiKeyFile, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read --api-key-file " + apiKeyFile + ": " + e.getClass().getSimpleName(), e);
      }
      if (key.isEmpty()) {
        throw new IllegalArgumentException("--api-key-file " + apiKeyFile + " is empty");
      }
      return new ApiKey(key, "--api-key-file");
    }
    if (apiKey != null) {
      if (apiKey.isBlank()) {
        throw new IllegalArgumentException("--api-key is empty");
      }
      return new ApiKey(apiKey.strip(), "--api-key");
    }
    String fromEnvironment = environment.apply(API_KEY_ENV);
    if (fromEnvironment == null || fromEnvironment.isBlank()) {
      return ApiKey.NONE;
    }
    return new ApiKey(fromEnvironment.strip(), API_KEY_ENV);
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    EngineProfile engineProfile;
    try {
      engineProfile =
          profileFile != null
              ? EngineProfiles.fromFile(profileFile)
              : EngineProfiles.bundled(profile);
    } catch (RuntimeException e) {
      err.println("llm-sim: " + e.getMessage());
      return 2;
    }
    FaultPlan faultPlan;
    try {
      faultPlan =
          faults == null ? FaultPlan.NONE : FaultPlan.fromJson(new ObjectMapper().readTree(faults));
    } catch (IOException | RuntimeException e) {
      err.println("llm-sim: invalid --faults: " + e.getMessage());
      return 2;
    }
    ApiKey key;
    try {
      key = resolveApiKey();
    } catch (IllegalArgumentException e) {
      err.println("llm-sim: " + e.getMessage());
      return 2;
    }
    String model = servedModelName != null ? servedModelName : engineProfile.name();
    SimServer server;
    try {
      server =
          SimServer.builder(engineProfile, model)
              .host(host)
              .port(port)
              .maxBodyBytes(maxBodyBytes)
              .faults(faultPlan)
              .eventLoops(eventLoops != null ? eventLoops : SimServer.defaultEventLoops())
              .adminEndpoints(adminEndpoints)
              .apiKey(key.value())
              .start();
    } catch (IllegalStateException | IllegalArgumentException e) {
      err.println("llm-sim: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "llm-sim-shutdown"));
    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        "llm-sim serving model '%s' (profile %s) at %s%n",
        model, engineProfile.name(), server.baseUrl());
    // Where the key came from, never the key.
    out.println(
        key.value() != null
            ? "llm-sim: /v1/* requires the API key (from " + key.source() + ")"
            : "llm-sim: no API key: /v1/* is open to anyone who reaches the port");
    out.println(
        adminEndpoints
            ? "llm-sim: admin endpoints (/admin/faults) on"
                + (key.value() != null ? ", behind the API key" : ", open to anyone")
            : "llm-sim: admin endpoints (/admin/faults) off; --admin-endpoints turns them on");
    out.flush();
    stopped.await();
    return 0;
  }
}
