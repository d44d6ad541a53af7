package dev.streamrag.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
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

  @Test
  void agentsAskMultiHopQuestionsWithTheScenariosToolsAndTheRestSplitAsBefore() {
    Scenario scenario =
        ScheduleTest.scenario(
            "--bench.agent-share",
            "0.3",
            "--bench.rag-share",
            "0.5",
            "--bench.zipf-exponent",
            "1.2",
            "--bench.shared-prefix-ratio",
            "1");
    RequestFactory factory = new RequestFactory(scenario);
    Map<String, MultiHopQuestion> byId =
        factory.multiHopQuestions().stream()
            .collect(Collectors.toMap(MultiHopQuestion::questionId, Function.identity()));
    assertThat(byId).isNotEmpty();
    Map<RequestKind, Integer> kinds = new HashMap<>();
    Map<String, Integer> asked = new HashMap<>();
    for (int i = 0; i < 5000; i++) {
      InferenceRequest r = factory.create(i, Instant.EPOCH, 0, 0);
      kinds.merge(r.getKind(), 1, Integer::sum);
      if (r.getKind() != RequestKind.AGENT) {
        assertThat(r.getTools()).isEmpty();
        continue;
      }
      MultiHopQuestion question = byId.get(r.getAttributes().get(RequestFactory.QUESTION));
      assertThat(question).as("bench.question names a multi-hop question").isNotNull();
      asked.merge(question.questionId(), 1, Integer::sum);
      assertThat(r.getTenantId()).isEqualTo(question.tenantId());
      assertThat(r.getTools()).containsExactly("lookup_entity", "compute");
      assertThat(r.getRetrieval()).isNull();
      // Only the question: the job puts its own agent system prompt first, so no shared prefix.
      assertThat(r.getMessages())
          .singleElement()
          .satisfies(
              m -> {
                assertThat(m.getRole()).isEqualTo(ChatRole.USER);
                assertThat(m.getContent()).isEqualTo(question.question());
              });
      assertThat(r.getMaxTokens()).isBetween(32, 128);
      assertThat(factory.create(i, Instant.EPOCH, 0, 0)).as("reproducible").isEqualTo(r);
    }
    assertThat(kinds.get(RequestKind.AGENT) / 5000.0).isBetween(0.28, 0.32);
    // Of the other 70%, half RAG: 35% of all.
    assertThat(kinds.get(RequestKind.RAG) / 5000.0).isBetween(0.33, 0.37);
    // Zipf 1.2: the most popular question is asked far more than the average one.
    int agents = kinds.get(RequestKind.AGENT);
    int top = asked.values().stream().max(Integer::compare).orElseThrow();
    assertThat(top).isGreaterThan(5 * agents / asked.size());
  }

  @Test
  void anAgentOnlyRunAsksOnlyAgentsAndAnEmptyToolListOffersEverything() {
    RequestFactory factory =
        new RequestFactory(
            ScheduleTest.scenario("--bench.agent-share", "1", "--bench.agent-tools", ""));
    for (int i = 0; i < 200; i++) {
      InferenceRequest r = factory.create(i, Instant.EPOCH, 0, 0);
      assertThat(r.getKind()).isEqualTo(RequestKind.AGENT);
      assertThat(r.getTools()).isEmpty();
    }
  }

  @Test
  void agentsNeedACorpusWithMultiHopQuestions() {
    Scenario tiny =
        ScheduleTest.scenario("--bench.agent-share", "0.1", "--bench.corpus-documents", "1");
    assertThatThrownBy(() -> new RequestFactory(tiny))
        .hasMessageContaining("bench.agent-share needs multi-hop questions");
    assertThat(
            new RequestFactory(ScheduleTest.scenario("--bench.corpus-documents", "1"))
                .create(0, Instant.EPOCH, 0, 0))
        .as("without agents a tiny corpus is fine")
        .isNotNull();
  }

  /**
   * The request stream of a run without agents is pinned: what each request asks, of whom, with
   * which budget and attributes. A change to the draws would silently change every earlier
   * scenario's load (and its cache hit ratio).
   */
  @Test
  void runsWithoutAgentsSendWhatTheyAlwaysSent() throws Exception {
    assertThat(digest(ScheduleTest.scenario("--bench.run-id", "pin")))
        .isEqualTo("7bd0dbb3c38ebe3b54764941dbec1a93472d9c952f5d4cb506965ef256061f4d");
    assertThat(
            digest(
                ScheduleTest.scenario(
                    "--bench.run-id",
                    "pin",
                    "--bench.rag-share",
                    "0.5",
                    "--bench.shared-prefix-ratio",
                    "0.3",
                    "--bench.seed",
                    "7")))
        .isEqualTo("99a6d6734d7df26320916b9df0dc604605d4363dd5da9ab6d8ec0a1490905dfe");
  }

  /** SHA-256 over the fields of 3000 requests that make them what they are. */
  private static String digest(Scenario scenario) throws Exception {
    RequestFactory factory = new RequestFactory(scenario);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    Instant at = Instant.parse("2026-11-23T10:00:00Z");
    for (int i = 0; i < 3000; i++) {
      InferenceRequest r = factory.create(i, at.plusMillis(i * 37L), 0, 0);
      StringBuilder line = new StringBuilder();
      line.append(r.getRequestId())
          .append('|')
          .append(r.getKind())
          .append('|')
          .append(r.getTenantId())
          .append('|')
          .append(r.getMaxTokens())
          .append('|')
          .append(r.getTemperature())
          .append('|')
          .append(r.getCreatedAt())
          .append('|')
          .append(r.getDeadline())
          .append('|')
          .append(r.getRetrieval() == null ? "-" : r.getRetrieval().getTopK())
          .append('|')
          .append(new TreeMap<>(r.getAttributes()));
      for (ChatMessage m : r.getMessages()) {
        line.append('|').append(m.getRole()).append(':').append(m.getContent());
      }
      sha.update(line.append('\n').toString().getBytes(StandardCharsets.UTF_8));
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
