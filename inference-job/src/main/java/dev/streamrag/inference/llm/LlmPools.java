package dev.streamrag.inference.llm;

import dev.streamrag.inference.InferenceOptions;
import dev.streamrag.inference.prompt.PromptAssembler;
import dev.streamrag.jobs.llm.EndpointRouter;
import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PoolsFile;
import dev.streamrag.jobs.llm.pools.PriceTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * The job's LLM pools: those of {@code llm.pools-file}, or one pool of {@code llm.endpoints}
 * serving {@code llm.models}. Resolved and checked when the job is built, before submission: a bad
 * pool in a task would restart it in a loop.
 */
public final class LlmPools {
  private final List<ModelPool> pools;

  private LlmPools(List<ModelPool> pools) {
    this.pools = pools;
  }

  public static LlmPools of(Configuration config) {
    String file = config.getOptional(InferenceOptions.LLM_POOLS_FILE).orElse(null);
    List<ModelPool> pools;
    if (file == null) {
      pools =
          List.of(
              ModelPool.single(
                  config.get(InferenceOptions.LLM_MODELS),
                  config.get(InferenceOptions.LLM_ENDPOINTS),
                  config.get(InferenceOptions.LLM_ROUTING),
                  config.get(InferenceOptions.LLM_CONTEXT_WINDOW)));
    } else {
      for (var replaced : List.of(InferenceOptions.LLM_ENDPOINTS, InferenceOptions.LLM_MODELS)) {
        if (config.contains(replaced)) {
          throw new IllegalArgumentException(
              replaced.key()
                  + " is set beside "
                  + InferenceOptions.LLM_POOLS_FILE.key()
                  + ", which lists the endpoints and models itself: unset one of them");
        }
      }
      String prices = config.getOptional(InferenceOptions.LLM_PRICES_FILE).orElse(null);
      pools =
          PoolsFile.load(
              Path.of(file),
              PriceTable.load(prices == null ? null : Path.of(prices)),
              new PoolsFile.Defaults(
                  config.get(InferenceOptions.LLM_ROUTING),
                  config.get(InferenceOptions.LLM_CONTEXT_WINDOW)));
    }
    for (ModelPool pool : pools) {
      try {
        EndpointRouter.check(
            pool.endpoints().size(),
            pool.routing(),
            config.get(InferenceOptions.LLM_AFFINITY_LOAD_FACTOR),
            config.get(InferenceOptions.LLM_LOAD_POLL_INTERVAL));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("LLM pool '" + pool.name() + "': " + e.getMessage(), e);
      }
    }
    return new LlmPools(pools);
  }

  public List<ModelPool> pools() {
    return pools;
  }

  /** Every model some pool serves, in pool order: the first answers requests that name none. */
  public List<String> models() {
    List<String> models = new ArrayList<>();
    for (ModelPool pool : pools) {
      for (String model : pool.models()) {
        if (!models.contains(model)) {
          models.add(model);
        }
      }
    }
    return models;
  }

  /** Each model's pools' limits: a prompt fills what the most generous of them takes. */
  public Map<String, List<PromptAssembler.Limit>> promptLimits() {
    Map<String, List<PromptAssembler.Limit>> limits = new HashMap<>();
    for (ModelPool pool : pools) {
      for (String model : pool.models()) {
        limits
            .computeIfAbsent(model, m -> new ArrayList<>())
            .add(new PromptAssembler.Limit(pool.contextWindow(), pool.maxPromptTokens()));
      }
    }
    return limits;
  }

  /** The largest context window of any pool. */
  public int largestContextWindow() {
    return pools.stream().mapToInt(ModelPool::contextWindow).max().orElseThrow();
  }
}
