package dev.streamrag.jobs.llm.pools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.schemas.RequestKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolPlacementTest {
  private static final ModelPool CPU =
      new ModelPool(
          "cpu",
          List.of("m"),
          List.of("http://cpu:1"),
          ModelPool.Hardware.CPU,
          null,
          RoutingPolicy.ROUND_ROBIN,
          2048,
          4,
          600,
          List.of(RequestKind.CHAT, RequestKind.RAG));
  private static final ModelPool GPU =
      new ModelPool(
          "gpu",
          List.of("m", "big"),
          List.of("http://gpu:1"),
          ModelPool.Hardware.GPU,
          null,
          RoutingPolicy.ROUND_ROBIN,
          8192,
          0,
          0,
          List.of());
  private static final List<ModelPool> POOLS = List.of(CPU, GPU);

  record State(int inFlight, int capacity, boolean reachable) implements PoolPlacement.PoolState {}

  private static final State IDLE_CPU = new State(0, 4, true);
  private static final State IDLE_GPU = new State(0, Integer.MAX_VALUE, true);

  private static PoolPlacement.Decision place(
      State cpu, State gpu, String model, RequestKind kind, int prompt, int max) {
    return PoolPlacement.place(
        POOLS, List.of(cpu, gpu), new PoolPlacement.Request(model, kind, prompt, max));
  }

  @Test
  void aShortPromptGoesToTheFirstPoolAndFailsOverToTheNext() {
    assertThat(place(IDLE_CPU, IDLE_GPU, "m", RequestKind.CHAT, 200, 64).order())
        .containsExactly(0, 1);
  }

  @Test
  void aLongPromptOrAnotherKindOrModelSkipsTheCpuPool() {
    assertThat(place(IDLE_CPU, IDLE_GPU, "m", RequestKind.RAG, 601, 64).order())
        .as("over maxPromptTokens")
        .containsExactly(1);
    assertThat(place(IDLE_CPU, IDLE_GPU, "m", RequestKind.CHAT, 500, 1600).order())
        .as("over the CPU's context window")
        .containsExactly(1);
    assertThat(place(IDLE_CPU, IDLE_GPU, "m", RequestKind.AGENT, 10, 10).order())
        .as("a kind the CPU pool does not take")
        .containsExactly(1);
    assertThat(place(IDLE_CPU, IDLE_GPU, "big", RequestKind.CHAT, 10, 10).order())
        .containsExactly(1);
  }

  @Test
  void aFullCpuPoolOverflowsToTheGpuAndStaysTheFallback() {
    assertThat(place(new State(4, 4, true), IDLE_GPU, "m", RequestKind.CHAT, 200, 64).order())
        .containsExactly(1, 0);
  }

  @Test
  void fullPoolsQueueWhereTheLoadIsLowest() {
    ModelPool gpu =
        new ModelPool(
            "gpu",
            List.of("m"),
            List.of("http://gpu:1"),
            ModelPool.Hardware.GPU,
            null,
            RoutingPolicy.ROUND_ROBIN,
            8192,
            8,
            0,
            List.of());
    var decision =
        PoolPlacement.place(
            List.of(CPU, gpu),
            List.of(new State(8, 4, true), new State(9, 8, true)),
            new PoolPlacement.Request("m", RequestKind.CHAT, 10, 10));
    assertThat(decision.order()).containsExactly(1, 0);
  }

  @Test
  void aPoolWithEveryEndpointFailingComesLast() {
    assertThat(place(new State(0, 4, false), IDLE_GPU, "m", RequestKind.CHAT, 200, 64).order())
        .containsExactly(1, 0);
    assertThat(
            place(new State(0, 4, false), new State(0, 9, false), "m", RequestKind.CHAT, 1, 1)
                .order())
        .as("still placed: the call ends with the endpoints' own error")
        .containsExactly(0, 1);
  }

  @Test
  void anUnknownModelIsRejectedWithTheModelsAvailable() {
    var decision = place(IDLE_CPU, IDLE_GPU, "gpt-5", RequestKind.CHAT, 10, 10);
    assertThat(decision.placed()).isFalse();
    assertThat(decision.rejectCode()).isEqualTo(PoolPlacement.UNKNOWN_MODEL);
    assertThat(decision.reason())
        .isEqualTo("model 'gpt-5' is served by no pool; models available: [m, big]");
  }

  @Test
  void aRequestNoPoolFitsIsRejectedWithEachPoolsReason() {
    var decision = place(IDLE_CPU, IDLE_GPU, "m", RequestKind.CHAT, 8000, 500);
    assertThat(decision.placed()).isFalse();
    assertThat(decision.rejectCode()).isEqualTo(PoolPlacement.NO_POOL_FITS);
    assertThat(decision.reason())
        .contains("cpu: prompt of about 8000 tokens is over its maxPromptTokens 600")
        .contains(
            "gpu: prompt of about 8000 tokens + maxTokens 500 exceed its context window 8192");
  }
}
