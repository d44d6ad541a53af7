package dev.streamrag.devstack;

import dev.streamrag.llmsim.engine.EngineProfile;
import dev.streamrag.llmsim.engine.EngineProfiles;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The llm-sim servers the local stack starts: one pool of {@code --llm-replicas} replicas of {@code
 * --llm-profile}, or the pools of {@code --llm-pools} (as {@code
 * cpu=llama-3.2-1b-cpu*2,gpu=qwen2.5-0.5b-l4}), each with the profile's simulated hardware. Every
 * server answers to one model name, the first pool's profile, so clients need not know the pools.
 */
public record LlmFleet(List<Pool> pools, boolean explicit) {
  /** At most this many llm-sim processes: each is a JVM on a 2-core machine. */
  static final int MAX_SERVERS = 16;

  /** The instance each bundled profile's timings model, as the price table names it. */
  static final Map<String, Hardware> HARDWARE =
      Map.of(
          "qwen2.5-0.5b-l4", new Hardware("gpu", "aws", "g6.xlarge"),
          "llama-3.1-8b-h100", new Hardware("gpu", "aws", "p5.48xlarge / 8"),
          "llama-3.2-1b-cpu", new Hardware("cpu", "aws", "c7i.2xlarge"));

  /** What a profile runs on. */
  record Hardware(String kind, String cloud, String type) {}

  /** One pool: {@code replicas} llm-sim servers of {@code profile}. */
  public record Pool(String name, String profile, int replicas) {
    public EngineProfile engine() {
      return EngineProfiles.bundled(profile);
    }

    Hardware hardware() {
      return HARDWARE.get(profile);
    }
  }

  public LlmFleet {
    pools = List.copyOf(pools);
    int servers = pools.stream().mapToInt(Pool::replicas).sum();
    if (pools.isEmpty() || servers > MAX_SERVERS) {
      throw new IllegalArgumentException(
          "the local stack runs 1 to " + MAX_SERVERS + " llm-sim servers, got " + servers);
    }
  }

  /** One pool, as {@code --llm-profile} and {@code --llm-replicas} say. */
  public static LlmFleet single(String profile, int replicas) {
    if (replicas < 1 || replicas > MAX_SERVERS) {
      throw new IllegalArgumentException(
          "--llm-replicas must be 1 to " + MAX_SERVERS + ", got " + replicas);
    }
    EngineProfiles.bundled(profile); // an unknown profile fails here, naming the bundled ones
    return new LlmFleet(List.of(new Pool("default", profile, replicas)), false);
  }

  /** {@code name=profile[*replicas],...}, in placement order (cheapest first, as a rule). */
  public static LlmFleet parse(String spec) {
    List<Pool> pools = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (String part : spec.split(",")) {
      String[] nameAndRest = part.strip().split("=", 2);
      if (nameAndRest.length != 2 || !nameAndRest[0].strip().matches("[a-z0-9][a-z0-9-]{0,39}")) {
        throw new IllegalArgumentException(
            "--llm-pools: '"
                + part.strip()
                + "' is not name=profile[*replicas] (name: a-z, 0-9, '-'), as in"
                + " cpu=llama-3.2-1b-cpu*2,gpu=qwen2.5-0.5b-l4");
      }
      String name = nameAndRest[0].strip();
      String[] profileAndCount = nameAndRest[1].strip().split("\\*", 2);
      String profile = profileAndCount[0].strip();
      if (!HARDWARE.containsKey(profile)) {
        throw new IllegalArgumentException(
            "--llm-pools: pool '"
                + name
                + "': unknown profile '"
                + profile
                + "'; bundled profiles: "
                + EngineProfiles.BUNDLED);
      }
      int replicas;
      try {
        replicas = profileAndCount.length == 2 ? Integer.parseInt(profileAndCount[1].strip()) : 1;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--llm-pools: pool '" + name + "': replicas must be a number, got '" + part + "'", e);
      }
      if (replicas < 1) {
        throw new IllegalArgumentException(
            "--llm-pools: pool '" + name + "' needs at least one replica");
      }
      if (!names.add(name)) {
        throw new IllegalArgumentException("--llm-pools: pool '" + name + "' is named twice");
      }
      pools.add(new Pool(name, profile, replicas));
    }
    return new LlmFleet(pools, true);
  }

  /** The model name every server answers to. */
  public String model() {
    return pools.get(0).profile();
  }

  public int servers() {
    return pools.stream().mapToInt(Pool::replicas).sum();
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    for (Pool pool : pools) {
      parts.add(
          (explicit ? pool.name() + "=" : "")
              + pool.profile()
              + (pool.replicas() > 1 ? " x" + pool.replicas() : ""));
    }
    return String.join(", ", parts);
  }

  /**
   * The pools file the inference job reads: each pool's endpoints, its profile's hardware and
   * limits (a CPU pool takes prompts up to a quarter of its window: its prefill is slow).
   */
  String poolsYaml(Map<String, List<String>> endpoints) {
    StringBuilder yaml =
        new StringBuilder("# Written by the local stack from --llm-pools.\npools:\n");
    for (Pool pool : pools) {
      EngineProfile engine = pool.engine();
      Hardware hardware = pool.hardware();
      yaml.append("  - name: ").append(pool.name()).append('\n');
      yaml.append("    hardware: ").append(hardware.kind()).append('\n');
      yaml.append("    instance: {cloud: ")
          .append(hardware.cloud())
          .append(", type: \"")
          .append(hardware.type())
          .append("\"}\n");
      yaml.append("    models: [").append(model()).append("]\n");
      yaml.append("    endpoints: [")
          .append(String.join(", ", endpoints.get(pool.name())))
          .append("]\n");
      yaml.append("    contextWindow: ").append(engine.contextWindow()).append('\n');
      yaml.append("    maxConcurrency: ").append(engine.maxNumSeqs()).append('\n');
      if (hardware.kind().equals("cpu")) {
        yaml.append("    maxPromptTokens: ").append(engine.contextWindow() / 4).append('\n');
      }
    }
    return yaml.toString();
  }
}
