package dev.streamrag.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.schemas.Document;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCorpusTest {
  @Test
  void theSameSeedGivesTheSameCorpusAndAnotherSeedAnother() {
    DemoCorpus one = DemoCorpus.generate(7, 200, List.of("a", "b"));
    DemoCorpus two = DemoCorpus.generate(7, 200, List.of("a", "b"));
    DemoCorpus other = DemoCorpus.generate(8, 200, List.of("a", "b"));
    assertThat(one.documents()).isEqualTo(two.documents());
    assertThat(one.questions()).isEqualTo(two.questions());
    assertThat(one.documents()).isNotEqualTo(other.documents());
  }

  @Test
  void everyQuestionIsAnsweredInItsDocumentAndNamesItsEntity() {
    DemoCorpus corpus = DemoCorpus.generate(1, 1_000, List.of("t1", "t2", "t3"));
    assertThat(corpus.documents()).hasSize(1_000);
    assertThat(corpus.questions()).hasSize(3_000);
    Map<String, Document> byId =
        corpus.documents().stream()
            .collect(Collectors.toMap(d -> d.getDocId().toString(), Function.identity()));
    for (QaPair qa : corpus.questions()) {
      Document doc = byId.get(qa.docId());
      assertThat(doc).as(qa.questionId()).isNotNull();
      assertThat(doc.getText().toString()).contains(qa.answer());
      assertThat(doc.getTenantId().toString()).isEqualTo(qa.tenantId());
      String entity = doc.getTitle().toString();
      assertThat(qa.question()).containsIgnoringCase(entity);
      assertThat(qa.question()).endsWith("?");
    }
  }

  @Test
  void entitiesHaveUniqueNamesAndTenantsGetTheirShare() {
    DemoCorpus corpus = DemoCorpus.generate(3, 10_000, List.of("a", "b"));
    Set<String> titles = new HashSet<>();
    for (Document doc : corpus.documents()) {
      assertThat(titles.add(doc.getTitle().toString())).as(doc.getTitle().toString()).isTrue();
    }
    assertThat(corpus.documents().stream().filter(d -> d.getTenantId().toString().equals("a")))
        .hasSize(5_000);
    assertThat(corpus.questions().stream().map(QaPair::questionId).distinct()).hasSize(30_000);
  }

  @Test
  void filesRoundTripThroughTheSchemaCodec(@TempDir Path dir) throws Exception {
    DemoCorpus corpus = DemoCorpus.generate(5, 50, List.of("demo"));
    CorpusFiles.write(corpus, dir);
    RecordCodec<Document> codec = RecordCodec.of(Document.class);
    List<String> lines = Files.readAllLines(dir.resolve(CorpusFiles.DOCUMENTS));
    assertThat(lines).hasSize(50);
    for (int i = 0; i < lines.size(); i++) {
      var decoded = codec.decode(lines.get(i).getBytes(StandardCharsets.UTF_8));
      assertThat(decoded.failure()).isNull();
      assertThat(decoded.value()).isEqualTo(corpus.documents().get(i));
    }
    assertThat(CorpusFiles.readQuestions(dir.resolve(CorpusFiles.QUESTIONS)))
        .isEqualTo(corpus.questions());
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> DemoCorpus.generate(1, -1, List.of("a")))
        .hasMessageContaining("must not be negative");
    assertThatThrownBy(() -> DemoCorpus.generate(1, 1, List.of()))
        .hasMessageContaining("at least one tenant");
  }
}
