package dev.streamrag.jobs.embed;

import ai.djl.Device;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.streamrag.jobs.batch.BatchSettings;
import dev.streamrag.jobs.batch.MicroBatching;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

/**
 * Embedding throughput on this machine, all in one JVM so the numbers compare as ratios: our
 * embedder (DJL on ONNX Runtime) at batch 1, 8, 32 and 64; raw ONNX Runtime on the same model,
 * tokenizer and pooling at batch 32; our path inside a Flink job (micro-batching operator, batch
 * 32); and LangChain4j's in-process embedding model of the same model as the peer baseline.
 *
 * <pre>
 * ./mvnw -q -pl jobs test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.args="-cp %classpath dev.streamrag.jobs.embed.EmbeddingThroughputBenchmark --texts 512"
 * </pre>
 *
 * <p>{@code exec:exec} (a forked JVM), not {@code exec:java}: Flink's MiniCluster resolves job
 * classes through the system class loader, which {@code exec:java} does not populate.
 */
public final class EmbeddingThroughputBenchmark {
  private EmbeddingThroughputBenchmark() {}

  private static final String[] WORDS =
      ("the river city council voted to expand the northern harbour after a long debate about"
              + " costs tourism fishing rights and the old lighthouse which engineers say needs"
              + " repairs before winter storms reach the coast while local schools plan field"
              + " trips to study tides birds and the history of trade along the shore")
          .split(" ");

  /** Passages of 50–70 words (about 70–90 tokens), reproducible by seed. */
  static List<String> passages(int count, long seed) {
    return texts(count, seed, 50, 70);
  }

  /** Texts of {@code minWords} to {@code maxWords} words, reproducible by seed. */
  static List<String> texts(int count, long seed, int minWords, int maxWords) {
    Random random = new Random(seed);
    List<String> texts = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int words = minWords + random.nextInt(maxWords - minWords + 1);
      StringBuilder text = new StringBuilder();
      for (int w = 0; w < words; w++) {
        text.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
      }
      texts.add(text.append('.').toString());
    }
    return texts;
  }

  public static void main(String[] args) throws Exception {
    int count = args.length > 1 && args[0].equals("--texts") ? Integer.parseInt(args[1]) : 512;
    List<String> texts = passages(count, 7);
    List<String> warm = passages(64, 8);
    StringBuilder report = new StringBuilder();
    report.append(
        String.format(
            "# Embedding throughput%n%n%d passages of 50–70 words, all-MiniLM-L6-v2 (float32),"
                + " CPU, %d cores, one JVM. Rates are medians of 3 runs; the last column is"
                + " relative to batch 1 of the same texts (passages: ours at batch 1).%n%n"
                + "| path | batch | texts/s | relative |%n"
                + "|---|---|---|---|%n",
            count, Runtime.getRuntime().availableProcessors()));

    double base;
    try (SentenceEmbedder embedder =
        SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu())) {
      embedInBatches(embedder, warm, 8);
      base = median(() -> embedInBatches(embedder, texts, 1));
      row(report, "DJL + ONNX Runtime (ours)", 1, base, base);
      for (int batch : new int[] {8, 32, 64}) {
        row(
            report,
            "DJL + ONNX Runtime (ours)",
            batch,
            median(() -> embedInBatches(embedder, texts, batch)),
            base);
      }
      // Queries, as the inference job embeds them: short, so per-call overhead weighs more.
      List<String> queries = texts(count * 4, 9, 8, 15);
      double queryBase = median(() -> embedInBatches(embedder, queries, 1));
      row(report, "ours, queries of 8–15 words", 1, queryBase, queryBase);
      for (int batch : new int[] {8, 32, 64}) {
        row(
            report,
            "ours, queries of 8–15 words",
            batch,
            median(() -> embedInBatches(embedder, queries, batch)),
            queryBase);
      }
    }
    double oursOverRaw;
    try (RawOnnxRuntime raw = new RawOnnxRuntime();
        SentenceEmbedder embedder =
            SentenceEmbedder.load(EmbeddingModelSpec.ALL_MINILM_L6_V2, Device.cpu())) {
      raw.embedInBatches(warm, 8);
      row(report, "raw ONNX Runtime", 1, median(() -> raw.embedInBatches(texts, 1)), base);
      row(report, "raw ONNX Runtime", 32, median(() -> raw.embedInBatches(texts, 32)), base);
      // Ours against raw, interleaved run by run so drift on the shared box hits both alike.
      double[] ratios = new double[5];
      for (int run = 0; run < ratios.length; run++) {
        ratios[run] = embedInBatches(embedder, texts, 32) / raw.embedInBatches(texts, 32);
      }
      java.util.Arrays.sort(ratios);
      oursOverRaw = ratios[2];
    }
    row(
        report,
        "ours inside Flink (MicroBatchOperator)",
        32,
        median(() -> insideFlink(texts, 32)),
        base);
    AllMiniLmL6V2EmbeddingModel peer = new AllMiniLmL6V2EmbeddingModel();
    List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
    peer.embedAll(warm.stream().map(TextSegment::from).toList());
    long started = System.nanoTime();
    peer.embedAll(segments);
    row(
        report,
        "LangChain4j AllMiniLmL6V2EmbeddingModel.embedAll",
        0,
        count / ((System.nanoTime() - started) / 1e9),
        base);

    report.append(
        String.format(
            "%nOurs / raw ONNX Runtime at batch 32, interleaved, median of 5: %.3f%n",
            oursOverRaw));
    System.out.print(report);
    Path out = Path.of("target", "benchmarks", "embedding-throughput.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
    System.out.println("report: " + out.toAbsolutePath());
  }

  private static void row(StringBuilder report, String path, int batch, double rate, double base) {
    String line =
        String.format(
            "| %s | %s | %.1f | %.2f× |%n",
            path, batch == 0 ? "its own" : String.valueOf(batch), rate, rate / base);
    System.out.print(line); // progress: a full run takes minutes
    report.append(line);
  }

  /** A rate measured as the median of three runs: this shared 2-core box is noisy. */
  interface Rate {
    double measure() throws Exception;
  }

  static double median(Rate rate) throws Exception {
    double[] runs = {rate.measure(), rate.measure(), rate.measure()};
    java.util.Arrays.sort(runs);
    return runs[1];
  }

  /** Texts per second through {@code embedder}, {@code batch} texts per call. */
  static double embedInBatches(SentenceEmbedder embedder, List<String> texts, int batch) {
    long started = System.nanoTime();
    for (int from = 0; from < texts.size(); from += batch) {
      embedder.embed(
          texts.subList(from, Math.min(texts.size(), from + batch)), EmbeddingPurpose.PASSAGE);
    }
    return texts.size() / ((System.nanoTime() - started) / 1e9);
  }

  private static final AtomicLong FIRST_OUT = new AtomicLong();
  private static final AtomicLong LAST_OUT = new AtomicLong();
  private static final AtomicLong OUTPUTS = new AtomicLong();

  /**
   * Texts per second through a Flink job (MiniCluster, parallelism 1): collection source,
   * micro-batching embedder, discarding sink. Timed from the first output to the last, so job
   * start-up and model loading are left out; the first batch is not counted.
   */
  static double insideFlink(List<String> texts, int batch) throws Exception {
    FIRST_OUT.set(0);
    OUTPUTS.set(0);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    MicroBatching.apply(
            env.fromData(texts),
            "embed",
            new EmbedBatchFunction<String, Integer>(
                EmbeddingModelSpec.ALL_MINILM_L6_V2,
                "auto",
                EmbeddingPurpose.PASSAGE,
                text -> text,
                (text, vector) -> vector.length),
            new BatchSettings(batch, Duration.ofMillis(100)),
            Types.INT)
        .map(
            dims -> {
              long now = System.nanoTime();
              FIRST_OUT.compareAndSet(0, now);
              LAST_OUT.set(now);
              OUTPUTS.incrementAndGet();
              return dims;
            })
        .addSink(new DiscardingSink<>());
    env.execute("embedding-throughput");
    long counted = OUTPUTS.get() - batch;
    return counted / ((LAST_OUT.get() - FIRST_OUT.get()) / 1e9);
  }

  /** The same model, tokenizer and pooling straight on ONNX Runtime's Java API. */
  static final class RawOnnxRuntime implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final ModelTokenizer tokenizer =
        ModelTokenizer.load(EmbeddingModelSpec.ALL_MINILM_L6_V2);

    RawOnnxRuntime() throws Exception {
      Path model =
          ModelFiles.extract(
              EmbeddingModelSpec.ALL_MINILM_L6_V2.name(),
              EmbeddingModelSpec.ALL_MINILM_L6_V2.onnxResource());
      session = env.createSession(model.toString(), new OrtSession.SessionOptions());
    }

    double embedInBatches(List<String> texts, int batch) throws Exception {
      long started = System.nanoTime();
      for (int from = 0; from < texts.size(); from += batch) {
        embed(texts.subList(from, Math.min(texts.size(), from + batch)));
      }
      return texts.size() / ((System.nanoTime() - started) / 1e9);
    }

    float[][] embed(List<String> texts) throws Exception {
      TokenBatch tokens = TokenBatch.of(tokenizer, texts.toArray(String[]::new));
      int batch = tokens.batch();
      int length = tokens.length();
      long[] ids = tokens.ids();
      long[] mask = tokens.mask();
      long[] types = tokens.types();
      long[] shape = {batch, length};
      try (OnnxTensor idsTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
          OnnxTensor maskTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
          OnnxTensor typesTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape);
          OrtSession.Result result =
              session.run(
                  Map.of(
                      "input_ids", idsTensor,
                      "attention_mask", maskTensor,
                      "token_type_ids", typesTensor))) {
        OnnxTensor hidden = (OnnxTensor) result.get(0);
        long[] dims = hidden.getInfo().getShape();
        java.nio.FloatBuffer buffer = hidden.getFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        float[][] vectors = MeanPoolingTranslator.pool(values, mask, batch, length, (int) dims[2]);
        return vectors;
      }
    }

    @Override
    public void close() throws Exception {
      session.close();
      tokenizer.close();
    }
  }
}
