package dev.streamrag.ingest.bench;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.ingest.IngestJob;
import dev.streamrag.ingest.IngestOptions;
import dev.streamrag.ingest.index.KnnIndex;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.embed.SentenceEmbedder;
import dev.streamrag.jobs.retrieve.KnnRetriever;
import dev.streamrag.jobs.retrieve.RetrievedChunk;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.Document;
import dev.streamrag.testsupport.OpenSearchServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.types.Either;
import org.apache.http.HttpHost;
import org.opensearch.client.Request;
import org.opensearch.client.RestClient;

/**
 * Ingest throughput and retrieval recall on this machine: the demo corpus through the real ingest
 * pipeline (chunk → embed → OpenSearch, local MiniCluster, parallelism 1) into a real OpenSearch
 * started by the test fixtures, then a sample of the corpus's questions searched by k-NN with the
 * tenant filter, counting how often the answering document is in the top 1 and top 5.
 *
 * <pre>
 * ./mvnw -q -pl ingest-job test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.args="-cp %classpath dev.streamrag.ingest.bench.IngestBenchmark 2000 1000"
 * </pre>
 *
 * Arguments: documents (default 2,000), questions to sample (default 1,000).
 */
public final class IngestBenchmark {
  private IngestBenchmark() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    int documents = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
    int sample = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
    Path logs = Path.of("target", "servers");
    try (OpenSearchServer server = OpenSearchServer.externalOrStart(logs);
        RestClient client =
            RestClient.builder(new HttpHost(server.uri().getHost(), server.uri().getPort(), "http"))
                .build()) {
      DemoCorpus corpus = DemoCorpus.generate(42, documents, List.of("demo", "other"));
      String index = "bench-" + System.currentTimeMillis();
      Configuration config =
          JobConfig.load(
              new String[] {"--opensearch.url", server.uri().toString(), "--ingest.index", index},
              Map.of(),
              IngestOptions.ALL);
      KnnIndex.createIfMissing(server.uri(), index, 384, 1, 0);

      double warmSeconds = run(config, corpus.documents().subList(0, 20));
      double seconds = run(config, corpus.documents());
      client.performRequest(new Request("POST", "/" + index + "/_refresh"));
      long chunks = count(client, index);
      String throughput =
          String.format(
              "%d documents → %d chunks in %.1f s (whole job, including start-up and model"
                  + " loading; a 20-document job took %.1f s): %.1f documents/s, %.1f chunks/s;"
                  + " net of the 20-document job's time: %.1f chunks/s",
              documents,
              chunks,
              seconds,
              warmSeconds,
              documents / seconds,
              chunks / seconds,
              chunks / (seconds - warmSeconds));
      System.out.println(throughput);

      List<QaPair> questions = new ArrayList<>(corpus.questions());
      Collections.shuffle(questions, new Random(1));
      questions = questions.subList(0, Math.min(sample, questions.size()));
      // k-NN with k = 5, then with 50 candidates of which the best 5 count: the filtered HNSW
      // search explores more of the graph with a larger k.
      StringBuilder recall = new StringBuilder();
      try (SentenceEmbedder embedder =
          SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu())) {
        List<float[]> vectors = new ArrayList<>();
        for (QaPair qa : questions) {
          vectors.add(embedder.embed(qa.question(), EmbeddingPurpose.QUERY));
        }
        for (int candidates : new int[] {5, 50}) {
          int top1 = 0;
          int top5 = 0;
          try (KnnRetriever retriever =
              KnnRetriever.builder()
                  .url(server.uri())
                  .index(index)
                  .candidates(candidates)
                  .timeout(Duration.ofSeconds(30))
                  .build()) {
            for (int q = 0; q < questions.size(); q++) {
              QaPair qa = questions.get(q);
              List<String> docs =
                  retriever.topK(qa.tenantId(), vectors.get(q), 5).get().stream()
                      .map(RetrievedChunk::docId)
                      .toList();
              top1 += !docs.isEmpty() && docs.get(0).equals(qa.docId()) ? 1 : 0;
              top5 += docs.contains(qa.docId()) ? 1 : 0;
            }
          }
          String line =
              String.format(
                  "recall over %d sampled questions (k-NN k=%d, HNSW lucene m=16"
                      + " ef_construction=128, tenant filter): recall@1 %.3f, recall@5 %.3f",
                  questions.size(),
                  candidates,
                  top1 / (double) questions.size(),
                  top5 / (double) questions.size());
          System.out.println(line);
          recall.append(recall.length() == 0 ? "" : "\n- ").append(line);
        }
      }
      Path out = Path.of("target", "benchmarks", "ingest.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, "# Ingest benchmark\n\n- " + throughput + "\n- " + recall + "\n");
      System.out.println("report: " + out.toAbsolutePath());
    }
  }

  /** Runs the ingest pipeline over {@code documents}; returns the job's wall time in seconds. */
  private static double run(Configuration config, List<Document> documents) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    List<Either<DeadLetter, Document>> input = new ArrayList<>();
    for (Document document : documents) {
      input.add(Either.Right(document));
    }
    EitherTypeInfo<DeadLetter, Document> type =
        new EitherTypeInfo<>(
            new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(Document.class));
    new IngestJob(config)
        .build(
            env.fromData(type, input.toArray(Either[]::new)),
            IngestJob.index(config),
            new DiscardingSink<>());
    long started = System.nanoTime();
    env.execute("ingest-benchmark");
    return (System.nanoTime() - started) / 1e9;
  }

  private static long count(RestClient client, String index) throws Exception {
    Request request = new Request("GET", "/" + index + "/_count");
    return JSON.readTree(client.performRequest(request).getEntity().getContent())
        .get("count")
        .asLong();
  }
}
