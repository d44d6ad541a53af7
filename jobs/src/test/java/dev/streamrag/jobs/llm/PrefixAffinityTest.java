package dev.streamrag.jobs.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * PREFIX_AFFINITY: prompts that share leading blocks go where those blocks went, within a bound.
 */
class PrefixAffinityTest {
  private static final String SYSTEM = "You answer from the passages below. ".repeat(20);

  private static List<URI> endpoints(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> URI.create("http://127.0.0.1:" + (9000 + i)))
        .toList();
  }

  private static List<ChatMessage> prompt(String passage, String question) {
    return List.of(
        new ChatMessage(ChatRole.SYSTEM, SYSTEM, null, null),
        new ChatMessage(ChatRole.USER, passage + "\nQuestion: " + question, null, null));
  }

  private static String passage(int n) {
    return ("Passage " + n + " tells of the entity number " + n + ". ").repeat(30);
  }

  @Test
  void blocksAreChainedSoSharedPrefixesShareLeadingHashes() {
    String who = "Who founded it, and who runs it now? ".repeat(4);
    long[] a = PrefixBlocks.of(prompt(passage(1), who));
    long[] b = PrefixBlocks.of(prompt(passage(1), "When did it happen, and where? ".repeat(4)));
    long[] c = PrefixBlocks.of(prompt(passage(2), who));
    int shared = 0;
    while (shared < Math.min(a.length, b.length) && a[shared] == b[shared]) {
      shared++;
    }
    assertThat(shared).as("system prompt and passage 1 are shared").isGreaterThan(12);
    assertThat(shared).isLessThan(Math.min(a.length, b.length));
    int withC = 0;
    while (a[withC] == c[withC]) {
      withC++;
    }
    assertThat(withC).as("only the system prompt is shared with passage 2").isLessThan(shared);
    assertThat(withC).isGreaterThan(3);
    // Only full blocks, at most MAX_BLOCKS.
    assertThat(PrefixBlocks.of(List.of(new ChatMessage(ChatRole.USER, "short", null, null))))
        .isEmpty();
    assertThat(PrefixBlocks.of(prompt("x".repeat(100_000), "?"))).hasSize(PrefixBlocks.MAX_BLOCKS);
  }

  @Test
  void aRepeatedPrefixGoesBackToTheSameEndpoint() {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    Map<Integer, URI> home = new HashMap<>();
    for (int round = 0; round < 5; round++) {
      for (int p = 0; p < 8; p++) {
        long[] blocks = PrefixBlocks.of(prompt(passage(p), "question " + round));
        EndpointRouter.Choice choice = router.choose(null, blocks);
        router.release(choice.endpoint(), EndpointRouter.AttemptResult.SUCCESS, 1);
        URI first = home.putIfAbsent(p, choice.endpoint().baseUrl());
        if (first != null) {
          assertThat(choice.endpoint().baseUrl())
              .as("passage %d, round %d", p, round)
              .isEqualTo(first);
        }
      }
    }
    assertThat(home.values()).as("new prefixes spread over the endpoints").hasSize(8);
    assertThat(new java.util.HashSet<>(home.values())).hasSizeGreaterThanOrEqualTo(3);
    assertThat(router.rememberedPrefixBlocks()).isGreaterThan(0);
  }

  @Test
  void aHotPrefixSpillsOnceItsEndpointIsOverTheBound() {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    long[] hot = PrefixBlocks.of(prompt(passage(7), "again"));
    List<EndpointRouter.Endpoint> held = new ArrayList<>();
    Map<URI, Integer> counts = new HashMap<>();
    for (int i = 0; i < 40; i++) { // none released: all in flight at once
      EndpointRouter.Endpoint chosen = router.choose(null, hot).endpoint();
      held.add(chosen);
      counts.merge(chosen.baseUrl(), 1, Integer::sum);
    }
    // Within 1.25 x the average of 10, rounded up: no endpoint holds more than 13.
    assertThat(counts.values()).allMatch(n -> n <= 13);
    assertThat(counts).hasSize(4);
    held.forEach(e -> router.release(e, EndpointRouter.AttemptResult.SUCCESS, 1));
  }

  @Test
  void theEndpointThatJustFailedAndPausedOnesComeLast() {
    EndpointRouter router = new EndpointRouter(endpoints(2), RoutingPolicy.PREFIX_AFFINITY);
    long[] blocks = PrefixBlocks.of(prompt(passage(3), "?"));
    EndpointRouter.Endpoint home = router.choose(null, blocks).endpoint();
    router.release(home, EndpointRouter.AttemptResult.SUCCESS, 1);
    EndpointRouter.Endpoint retry = router.choose(home, blocks).endpoint();
    assertThat(retry).isNotSameAs(home);
    router.release(retry, EndpointRouter.AttemptResult.FAILURE, 1);
    router.pause(retry, Duration.ofMinutes(1));
    assertThat(router.choose(null, blocks).endpoint()).isSameAs(home);
  }

  @Test
  void settingsAreChecked() {
    assertThatThrownBy(
            () -> new EndpointRouter(endpoints(2), RoutingPolicy.PREFIX_AFFINITY, null, 0.9))
        .hasMessageContaining("load factor");
    assertThatThrownBy(() -> new EndpointRouter(endpoints(65), RoutingPolicy.PREFIX_AFFINITY))
        .hasMessageContaining("at most 64");
  }

  /** The decision's cost, for the note; the benchmark measures it under load. */
  @Test
  void aDecisionTakesMicroseconds() {
    EndpointRouter router = new EndpointRouter(endpoints(8), RoutingPolicy.PREFIX_AFFINITY);
    List<List<ChatMessage>> prompts = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      prompts.add(prompt(passage(i % 50) + passage((i * 7) % 50), "question " + i));
    }
    long[] nanos = new long[20_000];
    for (int i = 0; i < nanos.length; i++) {
      long start = System.nanoTime();
      long[] blocks = PrefixBlocks.of(prompts.get(i % prompts.size()));
      EndpointRouter.Endpoint chosen = router.choose(null, blocks).endpoint();
      nanos[i] = System.nanoTime() - start;
      router.release(chosen, EndpointRouter.AttemptResult.SUCCESS, 1);
    }
    java.util.Arrays.sort(nanos);
    long p99 = nanos[(int) (nanos.length * 0.99)];
    // Behaviour, not timing: a generous ceiling that only a pathological change would cross.
    assertThat(p99).isLessThan(Duration.ofMillis(5).toNanos());
  }
}
