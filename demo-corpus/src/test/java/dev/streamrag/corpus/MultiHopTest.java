package dev.streamrag.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class MultiHopTest {
  private static final DemoCorpus CORPUS = DemoCorpus.generate(23, 200, List.of("acme", "globex"));

  @Test
  void articlesAndQuestionsAreWhatTheyWereBeforeEntitiesWereAdded() throws Exception {
    // Digest of seed 23, 200 documents, as generated before entities and multi-hop questions
    // existed: indexes built by earlier versions still match the questions asked of them.
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    for (var d : CORPUS.documents()) {
      digest.update(
          (d.getDocId() + "|" + d.getTenantId() + "|" + d.getTitle() + "|" + d.getText() + "\n")
              .getBytes(StandardCharsets.UTF_8));
    }
    for (QaPair q : CORPUS.questions()) {
      digest.update((q + "\n").getBytes(StandardCharsets.UTF_8));
    }
    assertThat(HexFormat.of().formatHex(digest.digest()))
        .isEqualTo("6207e7ebbaac6a7fe341ad928593f2cba31392937779e8a0682221818059c5e2");
  }

  @Test
  void everyEntityHoldsTheFactsItsArticleStates() {
    assertThat(CORPUS.entities()).hasSize(CORPUS.documents().size());
    Map<String, Entity> byDoc =
        CORPUS.entities().stream().collect(Collectors.toMap(Entity::docId, Function.identity()));
    for (QaPair qa : CORPUS.questions()) {
      Entity entity = byDoc.get(qa.docId());
      assertThat(entity.tenantId()).isEqualTo(qa.tenantId());
      assertThat(entity.attributes()).containsValue(qa.answer());
      assertThat(qa.question()).contains(entity.name());
    }
    assertThat(byDoc.get("doc-000000").attributes()).containsOnlyKeys("length", "source", "mouth");
  }

  @Test
  void multiHopAnswersFollowFromTheirTwoEntitiesAndOneComputation() {
    Map<String, Entity> byName =
        CORPUS.entities().stream().collect(Collectors.toMap(Entity::name, Function.identity()));
    List<MultiHopQuestion> questions = CORPUS.multiHopQuestions();
    assertThat(questions).hasSizeGreaterThanOrEqualTo(80);
    for (MultiHopQuestion q : questions) {
      assertThat(q.steps())
          .extracting(MultiHopQuestion.ToolStep::tool)
          .containsExactly("lookup_entity", "lookup_entity", "compute");
      Entity a = byName.get(q.steps().get(0).arguments().get("name"));
      Entity b = byName.get(q.steps().get(1).arguments().get("name"));
      assertThat(a.tenantId()).isEqualTo(q.tenantId()).isEqualTo(b.tenantId());
      assertThat(a.kind()).isEqualTo(b.kind());
      assertThat(q.question()).contains(a.name()).contains(b.name());
      String expression = q.steps().get(2).arguments().get("expression");
      String[] terms = expression.split(" ");
      long x = Long.parseLong(terms[0]);
      long y = Long.parseLong(terms[2]);
      long result = terms[1].equals("+") ? x + y : x - y;
      assertThat(result).as(q.question()).isNotNegative();
      assertThat(q.answer()).startsWith(String.valueOf(result));
      assertThat(a.attributes().values())
          .anyMatch(v -> v.matches("[0-9]+( km| kg)?") && MultiHop.number(v) == x);
      assertThat(b.attributes().values())
          .anyMatch(v -> v.matches("[0-9]+( km| kg)?") && MultiHop.number(v) == y);
    }
    assertThat(DemoCorpus.generate(23, 200, List.of("acme", "globex")).multiHopQuestions())
        .as("reproducible")
        .isEqualTo(questions);
  }
}
