package dev.streamrag.devstack;

import dev.streamrag.jobs.config.JobConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options shared by {@code run} and {@code up}: where the stack lives and its settings. */
final class StackOptions {
  @Option(
      names = "--dir",
      defaultValue = "target/devstack",
      description = "Server data and logs (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--ui-ports",
      defaultValue = "8081-8099",
      description =
          "Flink web UI port, or the range to take the first free one of (default: ${DEFAULT-VALUE}).")
  String uiPorts;

  @Option(
      names = "--llm-profile",
      defaultValue = LocalStack.PROFILE,
      description =
          "The llm-sim profile, also the model name it serves: qwen2.5-0.5b-l4 (default),"
              + " llama-3.1-8b-h100, llama-3.2-1b-cpu.")
  String llmProfile;

  @Option(
      names = "--llm-replicas",
      defaultValue = "1",
      description =
          "llm-sim replicas behind the inference job's router, each with its own prefix cache;"
              + " compare --set llm.routing=ROUND_ROBIN / PREFIX_AFFINITY / LOAD_AWARE (default:"
              + " ${DEFAULT-VALUE}).")
  int llmReplicas;

  @Option(
      names = "--llm-pools",
      description =
          "LLM pools instead of one profile: name=profile[*replicas],... in placement order, as"
              + " cpu=llama-3.2-1b-cpu*2,gpu=qwen2.5-0.5b-l4. Each pool's hardware, instance"
              + " price, context window and slots come from its profile; a CPU pool takes prompts"
              + " up to a quarter of its window. Every server answers to the first pool's"
              + " profile name. Replaces --llm-profile and --llm-replicas.")
  String llmPools;

  @Option(
      names = "--scenario",
      description = "YAML (or properties) file of bench.* and inference job settings.")
  Path scenario;

  @Option(
      names = "--set",
      description = "One setting, key=value; repeatable; overrides the scenario file.")
  Map<String, String> set = new LinkedHashMap<>();

  /** The llm-sim servers to start, from --llm-pools or --llm-profile and --llm-replicas. */
  LlmFleet fleet() {
    if (llmPools == null) {
      return LlmFleet.single(llmProfile, llmReplicas);
    }
    if (llmReplicas != 1 || !llmProfile.equals(LocalStack.PROFILE)) {
      throw new IllegalArgumentException(
          "--llm-pools names each pool's profile and replicas: drop --llm-profile and"
              + " --llm-replicas");
    }
    return LlmFleet.parse(llmPools);
  }

  /**
   * Creates the stack's folder and sends the log there; before anything logs, since log4j reads the
   * file name once. Returns the log file.
   */
  Path prepare() throws IOException {
    dir = dir.toAbsolutePath();
    Files.createDirectories(dir);
    Path log = dir.resolve("devstack.log");
    System.setProperty("streamrag.log.file", log.toString());
    return log;
  }

  /** The scenario file, then --set, then the command's own flags. */
  Map<String, String> settings(Map<String, String> own) {
    Map<String, String> settings = new LinkedHashMap<>();
    if (scenario != null) {
      settings.putAll(JobConfig.readFile(scenario));
    }
    settings.putAll(set);
    settings.putAll(own);
    return settings;
  }
}
