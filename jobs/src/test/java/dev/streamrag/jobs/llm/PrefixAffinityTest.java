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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
        new ChatMessage(ChatRole.SYSTEM, SYSTEM, null, null, List.of()),
        new ChatMessage(ChatRole.USER, passage + "\nQuestion: " + question, null, null, List.of()));
  }

  private static String passage(int n) {
    return ("Passage " + n + " tells of the entity number " + n + ". ").repeat(30);
  }

  @Test
  void blocksAreChainedSoSharedPrefixesShareLeadingHashes() {
    String who = "Who founded it, and who runs it now? ".repeat(4);
    long[] a = PrefixBlocks.of("m", prompt(passage(1), who)).blocks();
    long[] b =
        PrefixBlocks.of("m", prompt(passage(1), "When did it happen, and where? ".repeat(4)))
            .blocks();
    long[] c = PrefixBlocks.of("m", prompt(passage(2), who)).blocks();
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
    assertThat(
            PrefixBlocks.of(
                    "m", List.of(new ChatMessage(ChatRole.USER, "short", null, null, List.of())))
                .blocks())
        .isEmpty();
    PrefixBlocks.Prefix huge = PrefixBlocks.of("m", prompt("x".repeat(100_000), "?"));
    assertThat(huge.blocks()).hasSize(PrefixBlocks.MAX_BLOCKS);
    assertThat(huge.totalBlocks()).isGreaterThan(780);
    assertThat(huge.systemBlocks()).isEqualTo(SYSTEM.length() / PrefixBlocks.BLOCK_CHARS);
    // Another model's cache is another cache.
    assertThat(PrefixBlocks.of("other", prompt(passage(1), who)).blocks()[0]).isNotEqualTo(a[0]);
  }

  @Test
  void aRepeatedPrefixGoesBackToTheSameEndpoint() {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    Map<Integer, URI> home = new HashMap<>();
    for (int round = 0; round < 5; round++) {
      for (int p = 0; p < 8; p++) {
        PrefixBlocks.Prefix blocks = PrefixBlocks.of("m", prompt(passage(p), "question " + round));
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

  /**
   * Prompts that share only a system prompt, however long (past the hashed window too), are new
   * prefixes: spread by load, not all sent to the first endpoint that saw the system prompt.
   */
  @ParameterizedTest
  @CsvSource({"3000, 1000", "9000, 30000"})
  void aSharedSystemPromptAloneIsNotFollowed(int systemChars, int questionChars) {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    String system = "Rules of the house. ".repeat(systemChars / 20);
    Map<URI, Integer> counts = new HashMap<>();
    for (int i = 0; i < 40; i++) {
      List<ChatMessage> messages =
          List.of(
              new ChatMessage(ChatRole.SYSTEM, system, null, null, List.of()),
              new ChatMessage(
                  ChatRole.USER,
                  ("question " + i + " ").repeat(questionChars / 12),
                  null,
                  null,
                  List.of()));
      EndpointRouter.Endpoint chosen =
          router.choose(null, PrefixBlocks.of("m", messages)).endpoint();
      counts.merge(chosen.baseUrl(), 1, Integer::sum);
      router.release(chosen, EndpointRouter.AttemptResult.SUCCESS, 1);
    }
    assertThat(counts).hasSize(4);
    assertThat(counts.values()).allMatch(n -> n == 10);
  }

  @Test
  void aPausedEndpointDoesNotCostTheOthersTheirAffinity() {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    Map<Integer, EndpointRouter.Endpoint> home = new HashMap<>();
    List<EndpointRouter.Endpoint> held = new ArrayList<>();
    for (int topic = 0; topic < 6; topic++) {
      EndpointRouter.Endpoint chosen =
          router.choose(null, PrefixBlocks.of("m", prompt(passage(topic), "first"))).endpoint();
      home.put(topic, chosen);
      router.release(chosen, EndpointRouter.AttemptResult.SUCCESS, 1);
    }
    // Eight requests in flight on each live endpoint, none on the paused one: the average that
    // bounds the load is the live endpoints' (8), not all four's (6, which every live one exceeds).
    EndpointRouter.Endpoint paused = router.endpoints().get(3);
    router.pause(paused, Duration.ofMinutes(1));
    for (int i = 0; i < 24; i++) {
      held.add(router.choose(null, null).endpoint());
    }
    assertThat(held).doesNotContain(paused);
    int back = 0;
    for (int topic = 0; topic < 6; topic++) {
      if (home.get(topic) == paused) {
        continue;
      }
      EndpointRouter.Endpoint chosen =
          router.choose(null, PrefixBlocks.of("m", prompt(passage(topic), "second"))).endpoint();
      back += chosen == home.get(topic) ? 1 : 0;
      router.release(chosen, EndpointRouter.AttemptResult.SUCCESS, 1);
    }
    assertThat(back).isEqualTo((int) home.values().stream().filter(e -> e != paused).count());
    held.forEach(e -> router.release(e, EndpointRouter.AttemptResult.SUCCESS, 1));
  }

  @Test
  void aHotPrefixSpillsOnceItsEndpointIsOverTheBound() {
    EndpointRouter router = new EndpointRouter(endpoints(4), RoutingPolicy.PREFIX_AFFINITY);
    PrefixBlocks.Prefix hot = PrefixBlocks.of("m", prompt(passage(7), "again"));
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
    PrefixBlocks.Prefix blocks = PrefixBlocks.of("m", prompt(passage(3), "?"));
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
        .hasMessageContaining("llm.affinity-load-factor");
    assertThatThrownBy(
            () ->
                new EndpointRouter(
                    endpoints(2), RoutingPolicy.LOAD_AWARE, null, 1.25, Duration.ofMillis(10)))
        .hasMessageContaining("llm.load-poll-interval");
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
      PrefixBlocks.Prefix blocks = PrefixBlocks.of("m", prompts.get(i % prompts.size()));
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
