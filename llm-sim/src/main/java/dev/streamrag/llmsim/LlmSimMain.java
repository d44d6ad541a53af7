package dev.streamrag.llmsim;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.EngineProfiles;
import dev.streamrag.llmsim.server.FaultPlan;
import dev.streamrag.llmsim.server.SimServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
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
              + " change it at run time with PUT /admin/faults.")
  String faults;

  @Option(
      names = "--event-loops",
      description =
          "HTTP event loops sharing the port (default: one per core). More spreads many streams'"
              + " writes; the engine has its own thread regardless.")
  Integer eventLoops;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(new CommandLine(new LlmSimMain()).execute(args));
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
    String model = servedModelName != null ? servedModelName : engineProfile.name();
    SimServer server;
    try {
      server =
          SimServer.start(
              engineProfile,
              model,
              host,
              port,
              maxBodyBytes,
              faultPlan,
              eventLoops != null ? eventLoops : SimServer.defaultEventLoops());
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
    spec.commandLine()
        .getOut()
        .printf(
            "llm-sim serving model '%s' (profile %s) at %s%n",
            model, engineProfile.name(), server.baseUrl())
        .flush();
    stopped.await();
    return 0;
  }
}
