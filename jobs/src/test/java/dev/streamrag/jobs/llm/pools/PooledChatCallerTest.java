package dev.streamrag.jobs.llm.pools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.jobs.llm.AttemptListener;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.jobs.llm.RoutedChatCaller;
import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.jobs.llm.StreamingChatClient;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.testsupport.LlmSimServer;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pools over real llm-sim servers; a pool that is down is a port nobody listens on. */
@Timeout(120)
class PooledChatCallerTest {
  @TempDir static Path dir;
  private static LlmSimServer cpu;
  private static LlmSimServer gpu;

  @BeforeAll
  static void start() {
    cpu = LlmSimServer.start(dir, "llama-3.2-1b-cpu", "m", null);
    gpu = LlmSimServer.start(dir, "qwen2.5-0.5b-l4", "m", null);
  }

  @AfterAll
  static void stop() {
    if (cpu != null) {
      cpu.close();
    }
    if (gpu != null) {
      gpu.close();
    }
  }

  private static ModelPool pool(String name, ModelPool.Hardware hardware, String... endpoints) {
    return new ModelPool(
        name,
        List.of("m"),
        List.of(endpoints),
        hardware,
        null,
        RoutingPolicy.LEAST_OUTSTANDING,
        2048,
        4,
        0,
        List.of());
  }

  private static RoutedChatCaller caller(ModelPool pool) {
    return RoutedChatCaller.builder()
        .client(StreamingChatClient.builder().build())
        .endpoints(pool.endpoints().stream().map(URI::create).toList())
        .routing(pool.routing())
        .retryPolicy(new RetryPolicy(2, Duration.ofMillis(20), Duration.ofMillis(20)))
        .attemptTimeout(Duration.ofSeconds(20))
        .resilience(LlmResilienceSettings.defaults())
        .build();
  }

  private static ChatCall question(int tokens) {
    return new ChatCall(
        "m",
        List.of(
            new ChatMessage(
                ChatRole.USER, "Where does the river Oslen rise?", null, null, List.of())),
        tokens,
        0.0,
        null,
        7L,
        List.of());
  }

  private static final PoolPlacement.Request SHORT =
      new PoolPlacement.Request("m", RequestKind.CHAT, 20, 8);

  @Test
  void aPoolWhoseEndpointsAreDownFailsOverToTheNext() throws Exception {
    String nobody;
    try (ServerSocket socket = new ServerSocket(0)) {
      nobody = "http://127.0.0.1:" + socket.getLocalPort();
    }
    try (PooledChatCaller pools =
        new PooledChatCaller(
            List.of(
                pool("cpu", ModelPool.Hardware.CPU, nobody),
                pool("gpu", ModelPool.Hardware.GPU, gpu.baseUrl())),
            PooledChatCallerTest::caller,
            1)) {
      PoolPlacement.Decision decision = pools.place(SHORT);
      assertThat(decision.order()).containsExactly(0, 1);

      PooledChatCaller.Pooled answer =
          pools
              .call(
                  decision, question(8), System.currentTimeMillis() + 20_000, AttemptListener.NONE)
              .get(30, TimeUnit.SECONDS);

      assertThat(answer.outcome().ok()).isTrue();
      assertThat(answer.pool().name()).isEqualTo("gpu");
      assertThat(answer.outcome().endpoint()).isEqualTo(gpu.baseUrl());
      assertThat(answer.failovers()).isOne();
      assertThat(answer.retries()).as("both attempts on the dead pool").isEqualTo(2);
      assertThat(pools.failovers()).isOne();
      assertThat(pools.pools()).allSatisfy(pool -> assertThat(pool.inFlight()).isZero());
    }
  }

  @Test
  void theCpuPoolTakesWhatFitsAndOverflowsToTheGpuWhenFull() throws Exception {
    try (PooledChatCaller pools =
        new PooledChatCaller(
            List.of(
                pool("cpu", ModelPool.Hardware.CPU, cpu.baseUrl()),
                pool("gpu", ModelPool.Hardware.GPU, gpu.baseUrl())),
            PooledChatCallerTest::caller,
            2)) { // two tasks share the CPU's 4 slots: 2 each
      long deadline = System.currentTimeMillis() + 60_000;
      var first = pools.call(pools.place(SHORT), question(64), deadline, AttemptListener.NONE);
      var second = pools.call(pools.place(SHORT), question(64), deadline, AttemptListener.NONE);
      PoolPlacement.Decision third = pools.place(SHORT);
      assertThat(pools.pools().get(0).inFlight()).isEqualTo(2);
      assertThat(third.order()).as("CPU full: GPU first, CPU behind it").containsExactly(1, 0);
      var overflow = pools.call(third, question(8), deadline, AttemptListener.NONE);

      assertThat(first.get(60, TimeUnit.SECONDS).pool().name()).isEqualTo("cpu");
      assertThat(second.get(60, TimeUnit.SECONDS).pool().name()).isEqualTo("cpu");
      PooledChatCaller.Pooled spilled = overflow.get(60, TimeUnit.SECONDS);
      assertThat(spilled.pool().name()).isEqualTo("gpu");
      assertThat(spilled.outcome().ok()).isTrue();
      assertThat(spilled.failovers()).isZero();
    }
  }

  @Test
  void cancellingTheCallCancelsTheAttemptOnWhicheverPoolItIs() throws Exception {
    try (PooledChatCaller pools =
        new PooledChatCaller(
            List.of(pool("cpu", ModelPool.Hardware.CPU, cpu.baseUrl())),
            PooledChatCallerTest::caller,
            1)) {
      var call =
          pools.call(
              pools.place(SHORT),
              question(400), // 20 s on the CPU profile
              System.currentTimeMillis() + 60_000,
              AttemptListener.NONE);
      Thread.sleep(300);
      call.cancel(true);
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      RoutedChatCaller cpuCaller = pools.pools().get(0).caller();
      while ((pools.pools().get(0).inFlight() > 0 || cpuCaller.router().outstanding() > 0)
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(pools.pools().get(0).inFlight()).isZero();
      assertThat(cpuCaller.inFlightCalls()).as("the pool's call stopped").isZero();
      assertThat(cpuCaller.router().outstanding()).as("its attempt released").isZero();
    }
  }
}
