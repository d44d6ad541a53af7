package dev.streamrag.inference.llm;

import dev.streamrag.jobs.llm.RoutedChatCaller;
import dev.streamrag.jobs.llm.StreamingChatClient;
import dev.streamrag.jobs.llm.pools.ModelPool;
import dev.streamrag.jobs.llm.pools.PooledChatCaller;
import java.net.URI;

/** The LLM pools' callers as the job's stages open them: one streaming client per pool. */
public final class LlmCallers {
  private LlmCallers() {}

  /**
   * @param parallelism the stage's parallelism: each task takes its share of the pools' capacity
   */
  public static PooledChatCaller open(GenerateAnswer.Settings settings, int parallelism) {
    return new PooledChatCaller(settings.pools(), pool -> poolCaller(settings, pool), parallelism);
  }

  private static RoutedChatCaller poolCaller(GenerateAnswer.Settings settings, ModelPool pool) {
    // Read here, in the task: the settings travel in the job graph and hold only the reference.
    String apiKey = settings.apiKey() == null ? null : settings.apiKey().resolve();
    return RoutedChatCaller.builder()
        .client(StreamingChatClient.builder().apiKey(apiKey).build())
        .endpoints(pool.endpoints().stream().map(URI::create).toList())
        .routing(pool.routing())
        .affinityLoadFactor(settings.affinityLoadFactor())
        .loadPollInterval(settings.loadPollInterval())
        .retryPolicy(settings.retry())
        .attemptTimeout(settings.attemptTimeout())
        .resilience(settings.resilience())
        .build();
  }
}
