package dev.streamrag.jobs.embed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real model from its registry package, on the CPU: vectors, meaning, batching. */
class SentenceEmbedderTest {
  private static SentenceEmbedder embedder;

  @BeforeAll
  static void load() {
    embedder = SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu());
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  private static double norm(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += x * x;
    }
    return Math.sqrt(sum);
  }

  @Test
  void vectorsHaveTheModelsDimensionAndUnitLength() {
    float[][] vectors =
        embedder.embed(List.of("hello world", "", "ünïcödé 文字 🚀"), EmbeddingPurpose.PASSAGE);
    assertThat(vectors).hasNumberOfRows(3);
    for (float[] vector : vectors) {
      assertThat(vector).hasSize(384);
      assertThat(norm(vector)).isCloseTo(1.0, within(1e-5));
    }
    assertThat(embedder.device()).isEqualTo(Device.cpu());
  }

  @Test
  void aQuestionIsClosestToThePassageThatAnswersIt() {
    float[] question = embedder.embed("How tall is the Eiffel Tower?", EmbeddingPurpose.QUERY);
    float[][] passages =
        embedder.embed(
            List.of(
                "Bananas are rich in potassium and turn yellow when ripe.",
                "The Eiffel Tower in Paris is about 330 metres high.",
                "The stock market fell sharply on Monday."),
            EmbeddingPurpose.PASSAGE);
    assertThat(cosine(question, passages[1]))
        .isGreaterThan(cosine(question, passages[0]) + 0.2)
        .isGreaterThan(cosine(question, passages[2]) + 0.2);
  }

  @Test
  void aTextsVectorDoesNotDependOnItsBatch() {
    float[] alone = embedder.embed("the cat sat on the mat", EmbeddingPurpose.PASSAGE);
    float[][] batched =
        embedder.embed(
            List.of(
                "a much longer text that forces padding of the shorter ones in the same batch,"
                    + " with many more word pieces than the first",
                "the cat sat on the mat"),
            EmbeddingPurpose.PASSAGE);
    assertThat(cosine(alone, batched[1])).isGreaterThan(0.99999);
  }

  @Test
  void longTextsAreTruncatedToTheModelsLimitNotRefused() {
    String huge = "word ".repeat(5_000);
    assertThat(embedder.tokenizer().count(huge)).isEqualTo(5_000);
    float[] vector = embedder.embed(huge, EmbeddingPurpose.PASSAGE);
    assertThat(norm(vector)).isCloseTo(1.0, within(1e-5));
  }

  @Test
  void matchesLangChain4jsEmbeddingOfTheSameModel() {
    AllMiniLmL6V2EmbeddingModel peer = new AllMiniLmL6V2EmbeddingModel();
    String text = "Streaming retrieval-augmented generation on Apache Flink.";
    float[] ours = embedder.embed(text, EmbeddingPurpose.PASSAGE);
    float[] theirs = peer.embed(text).content().vector();
    assertThat(cosine(ours, theirs)).isGreaterThan(0.9999);
  }
}
