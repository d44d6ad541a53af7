package dev.streamrag.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RequestFactoryTest {
  @Test
  void requestsAreReproducibleAndCarryTheirRunAndIntendedTime() {
    Scenario scenario = ScheduleTest.scenario("--bench.run-id", "r1");
    Instant at = Instant.parse("2026-11-23T10:00:00Z");
    InferenceRequest a = new RequestFactory(scenario).create(7, at, 0, 0);
    InferenceRequest b = new RequestFactory(scenario).create(7, at, 0, 0);
    assertThat(a).isEqualTo(b);
    assertThat(a.getRequestId()).isEqualTo("r1-7");
    assertThat(a.getCreatedAt()).isEqualTo(at);
    assertThat(a.getDeadline()).isEqualTo(at.plusSeconds(30));
    assertThat(a.getAttributes()).containsEntry(RequestFactory.RUN, "r1");
  }

  @Test
  void mixAndPopularityFollowTheScenario() {
    Scenario scenario =
        ScheduleTest.scenario(
            "--bench.rag-share",
            "0.7",
            "--bench.zipf-exponent",
            "1.2",
            "--bench.max-tokens",
            "fixed:24");
    RequestFactory factory = new RequestFactory(scenario);
    Map<String, Integer> asked = new HashMap<>();
    int rag = 0;
    for (int i = 0; i < 5000; i++) {
      InferenceRequest r = factory.create(i, Instant.EPOCH, 0, 0);
      assertThat(r.getMaxTokens()).isEqualTo(24);
      if (r.getKind() == RequestKind.RAG) {
        rag++;
        asked.merge(r.getMessages().get(0).getContent(), 1, Integer::sum);
        assertThat(r.getAttributes()).containsKey(RequestFactory.QUESTION);
      }
    }
    assertThat(rag / 5000.0).isBetween(0.67, 0.73);
    // Zipf 1.2 over 600 questions: the most popular is asked far more than the average.
    int top = asked.values().stream().max(Integer::compare).orElseThrow();
    assertThat(top).isGreaterThan(10 * rag / asked.size());
  }

  @Test
  void uniformPopularityRarelyRepeatsAndSharedPrefixesAreIdentical() {
    Scenario scenario =
        ScheduleTest.scenario(
            "--bench.zipf-exponent",
            "0",
            "--bench.rag-share",
            "0",
            "--bench.shared-prefix-ratio",
            "1",
            "--bench.prompt-chars",
            "fixed:120");
    RequestFactory factory = new RequestFactory(scenario);
    Set<String> prefixes = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      InferenceRequest r = factory.create(i, Instant.EPOCH, 0, 0);
      assertThat(r.getMessages()).hasSize(2);
      prefixes.add(r.getMessages().get(0).getContent());
      assertThat(r.getMessages().get(1).getContent()).hasSize(120);
    }
    assertThat(prefixes).hasSize(1);
    assertThat(prefixes.iterator().next()).hasSize(2000);
  }
}
