package dev.streamrag.llmsim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.llmsim.engine.VirtualTimeRun.Arrival;
import dev.streamrag.llmsim.engine.VirtualTimeRun.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Behaviour of the latency model, on a simulated clock: exact, no timing noise. */
class ContinuousBatchingEngineTest {

  /** An 8B-class model on one GPU, roughly: 5 ms step launch, 20k prefill tokens/s. */
  static EngineProfile profile(int maxNumSeqs, int kvBlocks, boolean prefixCaching) {
    return profile(maxNumSeqs, kvBlocks, prefixCaching, 4096);
  }

  static EngineProfile profile(
      int maxNumSeqs, int kvBlocks, boolean prefixCaching, int contextWindow) {
    return new EngineProfile(
        "test", maxNumSeqs, 2048, kvBlocks, 16, contextWindow, prefixCaching, 5000, 50, 200, 0.02);
  }

  private static int[] prompt(int length, int seed) {
    Random random = new Random(seed);
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = random.nextInt(32000);
    }
    return tokens;
  }

  private static List<Arrival> burst(int count, int promptTokens, int outputTokens) {
    List<Arrival> arrivals = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      arrivals.add(
          new Arrival(0, new SequenceRequest("r" + i, prompt(promptTokens, i), outputTokens)));
    }
    return arrivals;
  }

  private static double meanTtftMillis(Result result) {
    return result.outcomes().values().stream()
            .mapToLong(VirtualTimeRun.Outcome::ttftMicros)
            .average()
            .orElseThrow()
        / 1000;
  }

  @Test
  void everyRequestFinishesWithExactlyItsTokens() {
    Result result = VirtualTimeRun.run(profile(8, 2000, true), burst(40, 300, 57));
    assertThat(result.outcomes()).hasSize(40);
    assertThat(result.outcomes().values())
        .allSatisfy(
            o -> {
              assertThat(o.outputTokens()).isEqualTo(57);
              assertThat(o.firstTokenMicros()).isGreaterThan(o.arrivalMicros());
              assertThat(o.finishMicros()).isGreaterThan(o.firstTokenMicros());
            });
    assertThat(result.peakRunning()).isEqualTo(8);
  }

  @Test
  void ttftGrowsWithQueueDepth() {
    EngineProfile profile = profile(8, 4000, false);
    double shallow = meanTtftMillis(VirtualTimeRun.run(profile, burst(4, 200, 50)));
    double deep = meanTtftMillis(VirtualTimeRun.run(profile, burst(64, 200, 50)));

    // 64 requests for 8 slots: most wait for earlier ones to finish all 50 tokens.
    assertThat(deep).isGreaterThan(5 * shallow);
    Result deepRun = VirtualTimeRun.run(profile, burst(64, 200, 50));
    assertThat(deepRun.peakWaiting()).isEqualTo(64);
    assertThat(deepRun.outcome("r63").ttftMicros())
        .isGreaterThan(deepRun.outcome("r0").ttftMicros() * 5);
  }

  @Test
  void throughputGrowsWithBatchThenSaturatesAtMaxNumSeqs() {
    EngineProfile profile = profile(16, 8000, false);
    double one = VirtualTimeRun.run(profile, burst(1, 100, 200)).outputTokensPerSecond();
    double sixteen = VirtualTimeRun.run(profile, burst(16, 100, 200)).outputTokensPerSecond();
    double sixtyFour = VirtualTimeRun.run(profile, burst(64, 100, 200)).outputTokensPerSecond();

    // Batching amortises the step's fixed cost: 16 sequences give far more tokens/s than one...
    assertThat(sixteen).isGreaterThan(4 * one);
    // ...but beyond max_num_seqs the extra requests only queue: throughput stays flat (±10%).
    assertThat(sixtyFour).isBetween(0.9 * sixteen, 1.1 * sixteen);
  }

  @Test
  void decodeStepsGetSlowerAsTheBatchGrows() {
    EngineProfile profile = profile(32, 8000, false);
    double tpotAlone = VirtualTimeRun.run(profile, burst(1, 100, 100)).outcome("r0").tpotMicros();
    double tpotInBatch =
        VirtualTimeRun.run(profile, burst(32, 100, 100)).outcome("r0").tpotMicros();
    assertThat(tpotInBatch).isGreaterThan(1.5 * tpotAlone);
  }

  @Test
  void aSharedPrefixLowersTtft() {
    int[] first = prompt(1024, 1);
    int[] second = first.clone();
    for (int i = 1000; i < 1024; i++) {
      second[i] = 7; // same 1000-token system prompt and context, different question
    }
    List<Arrival> arrivals =
        List.of(
            new Arrival(0, new SequenceRequest("a", first, 10)),
            new Arrival(1_000_000, new SequenceRequest("b", second, 10)));

    Result cached = VirtualTimeRun.run(profile(8, 2000, true), arrivals);
    Result uncached = VirtualTimeRun.run(profile(8, 2000, false), arrivals);

    assertThat(cached.prefixHitTokens()).isEqualTo(992); // 62 full blocks of 16 are shared
    assertThat(cached.outcome("b").ttftMicros()).isLessThan(uncached.outcome("b").ttftMicros() / 3);
    assertThat(uncached.prefixHitTokens()).isZero();
    assertThat(cached.outcome("a").ttftMicros()).isEqualTo(uncached.outcome("a").ttftMicros());
  }

  @Test
  void aFullKvCacheQueuesRequestsInsteadOfRunningThem() {
    // 100 blocks of 16 tokens hold 1600 tokens: at most 3 requests of 400+100 tokens at once,
    // although max_num_seqs would allow 16.
    Result result = VirtualTimeRun.run(profile(16, 100, false, 1024), burst(12, 400, 100));
    assertThat(result.outcomes()).hasSize(12);
    assertThat(result.peakRunning()).isLessThanOrEqualTo(4);
    assertThat(result.peakKvCacheUsage()).isGreaterThan(0.9);
  }

  @Test
  void growingSequencesPreemptTheNewestAndStillFinishExactly() {
    // Prompts fit at admission, but decoding 600 tokens each outgrows the 120 blocks.
    Result result = VirtualTimeRun.run(profile(8, 120, false, 1024), burst(6, 200, 600));
    assertThat(result.preemptions()).isPositive();
    assertThat(result.outcomes()).hasSize(6);
    assertThat(result.outcomes().values())
        .allSatisfy(o -> assertThat(o.outputTokens()).isEqualTo(600));
  }

  @Test
  void longPromptsArePrefilledInChunksOfTheStepBudget() {
    EngineProfile profile = profile(8, 2000, false);
    ContinuousBatchingEngine engine = new ContinuousBatchingEngine(profile);
    engine.submit(new SequenceRequest("long", prompt(3000, 3), 5));
    ContinuousBatchingEngine.Step first = engine.schedule();
    assertThat(first.prefillTokens()).isEqualTo(2048);
    assertThat(engine.complete(first, 1)).isEmpty(); // no token before the whole prompt is in
    ContinuousBatchingEngine.Step second = engine.schedule();
    assertThat(second.prefillTokens()).isEqualTo(3000 - 2048);
    assertThat(engine.complete(second, 2))
        .singleElement()
        .satisfies(e -> assertThat(e.index()).isZero());
  }

  @Test
  void abortingFreesTheKvCacheAndLetsAWaitingRequestIn() {
    // Room for one request of 400+100 tokens at a time: the second waits until the first goes.
    ContinuousBatchingEngine engine = new ContinuousBatchingEngine(profile(8, 40, false, 512));
    engine.submit(new SequenceRequest("first", prompt(400, 1), 100));
    engine.submit(new SequenceRequest("second", prompt(400, 2), 100));
    engine.complete(engine.schedule(), 1);
    assertThat(engine.running()).isEqualTo(1);
    assertThat(engine.waiting()).isEqualTo(1);

    assertThat(engine.abort("first")).isTrue();
    assertThat(engine.kvCacheUsage()).isZero();
    List<TokenEvent> next = engine.complete(engine.schedule(), 2);
    assertThat(next).singleElement().satisfies(e -> assertThat(e.requestId()).isEqualTo("second"));

    assertThat(engine.abort("second")).isTrue();
    assertThat(engine.abort("second")).isFalse();
    assertThat(engine.abort("unknown")).isFalse();
    assertThat(engine.hasWork()).isFalse();
    assertThat(engine.aborted()).isEqualTo(2);
  }

  @Test
  void aWaitingRequestCanBeAborted() {
    ContinuousBatchingEngine engine = new ContinuousBatchingEngine(profile(8, 2000, false));
    engine.submit(new SequenceRequest("queued", prompt(100, 1), 10));
    assertThat(engine.abort("queued")).isTrue();
    assertThat(engine.schedule()).isNull();
  }

  @Test
  void requestsThatCanNeverFitTheContextWindowAreRefused() {
    ContinuousBatchingEngine engine = new ContinuousBatchingEngine(profile(8, 2000, true));
    assertThatThrownBy(() -> engine.submit(new SequenceRequest("big", prompt(4000, 1), 200)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exceed the context window of 4096");
  }

  @Test
  void profilesThatCannotHoldOneContextAreRejected() {
    assertThatThrownBy(() -> new EngineProfile("bad", 8, 2048, 10, 16, 4096, true, 0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot hold one full context");
  }
}
