package dev.streamrag.jobs.llm.pools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.EndpointRouter;
import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RoutingPolicy;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A pool whose every breaker opened counts as unreachable only for the breakers' open duration:
 * after it, the next call probes it, so a CPU pool that restarted takes its requests back from the
 * GPU instead of staying last until the task restarts.
 */
class PoolRecoveryTest {

  @Test
  void aPoolWithOpenBreakersIsCallableAgainAfterTheOpenDuration() throws Exception {
    LlmResilienceSettings settings =
        LlmResilienceSettings.builder()
            .breakerWindowCalls(4)
            .breakerMinimumCalls(4)
            .breakerOpenDuration(Duration.ofMillis(300))
            .build();
    try (EndpointRouter router =
        new EndpointRouter(
            List.of(URI.create("http://127.0.0.1:1")), RoutingPolicy.ROUND_ROBIN, settings)) {
      assertThat(router.anyEndpointCallable()).isTrue();
      for (int i = 0; i < 4; i++) {
        EndpointRouter.Endpoint endpoint = router.choose(null).endpoint();
        router.release(endpoint, EndpointRouter.AttemptResult.FAILURE, 1_000);
      }
      assertThat(router.endpoints().get(0).breakerState()).isEqualTo("OPEN");
      assertThat(router.anyEndpointCallable()).as("within the open duration").isFalse();

      Thread.sleep(400);

      assertThat(router.endpoints().get(0).breakerState()).as("not probed yet").isEqualTo("OPEN");
      assertThat(router.anyEndpointCallable()).as("after it: the next call probes").isTrue();
      assertThat(router.choose(null).found()).as("and the router lets the probe through").isTrue();
    }
  }
}
