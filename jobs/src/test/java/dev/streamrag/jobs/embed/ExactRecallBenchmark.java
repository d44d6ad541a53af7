package dev.streamrag.jobs.embed;

import ai.djl.Device;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.schemas.Document;
import java.util.ArrayList;
import java.util.List;

/**
 * Can the embedding model find the right article of the demo corpus at all? Exact (brute-force)
 * cosine search in memory, no index: an upper bound for what the OpenSearch k-NN path can reach
 * with the same model. One vector per document (articles fit the model's 256 tokens).
 *
 * <pre>
 * ./mvnw -q -pl jobs test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.args="-cp %classpath dev.streamrag.jobs.embed.ExactRecallBenchmark 2000"
 * </pre>
 */
public final class ExactRecallBenchmark {
  private ExactRecallBenchmark() {}

  public static void main(String[] args) {
    int documents = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
    DemoCorpus corpus = DemoCorpus.generate(42, documents, List.of("demo"));
    try (SentenceEmbedder embedder =
        SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu())) {
      List<String> passages = new ArrayList<>();
      for (Document doc : corpus.documents()) {
        passages.add(doc.getTitle() + "\n" + doc.getText());
      }
      float[][] docVectors = embedInBatches(embedder, passages, EmbeddingPurpose.PASSAGE);
      List<String> questions = corpus.questions().stream().map(QaPair::question).toList();
      float[][] questionVectors = embedInBatches(embedder, questions, EmbeddingPurpose.QUERY);
      int[] hitsAt = new int[11];
      for (int q = 0; q < questionVectors.length; q++) {
        int target = Integer.parseInt(corpus.questions().get(q).docId().substring(4));
        float targetScore = dot(questionVectors[q], docVectors[target]);
        int rank = 1;
        for (float[] doc : docVectors) {
          if (dot(questionVectors[q], doc) > targetScore) {
            rank++;
          }
        }
        if (rank <= 10) {
          hitsAt[rank]++;
        }
      }
      int cumulative = 0;
      StringBuilder line = new StringBuilder();
      for (int k = 1; k <= 10; k++) {
        cumulative += hitsAt[k];
        if (k == 1 || k == 5 || k == 10) {
          line.append(
              String.format("recall@%d %.3f  ", k, cumulative / (double) questionVectors.length));
        }
      }
      System.out.printf(
          "exact search, %d documents, %d questions: %s%n",
          documents, questionVectors.length, line);
    }
  }

  private static float[][] embedInBatches(
      SentenceEmbedder embedder, List<String> texts, EmbeddingPurpose purpose) {
    float[][] vectors = new float[texts.size()][];
    for (int from = 0; from < texts.size(); from += 32) {
      float[][] batch =
          embedder.embed(texts.subList(from, Math.min(texts.size(), from + 32)), purpose);
      System.arraycopy(batch, 0, vectors, from, batch.length);
    }
    return vectors;
  }

  private static float dot(float[] a, float[] b) {
    float sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += a[i] * b[i];
    }
    return sum;
  }
}
