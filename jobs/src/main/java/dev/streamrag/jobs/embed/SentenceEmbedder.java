package dev.streamrag.jobs.embed;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns texts into unit-length sentence vectors with DJL on ONNX Runtime, on the CPU or a GPU. One
 * batch of texts is one model call, which is where batching pays: see the micro-batching operator.
 *
 * <p>Not thread-safe (a DJL predictor is not): create one per task in {@code open()} and close it
 * in {@code close()}.
 */
public final class SentenceEmbedder implements AutoCloseable {
  static {
    NativeLibraries.stayOffline();
  }

  private final EmbeddingModelSpec spec;
  private final ModelTokenizer tokenizer;
  private final ZooModel<String[], float[][]> model;
  private final Predictor<String[], float[][]> predictor;

  private SentenceEmbedder(
      EmbeddingModelSpec spec,
      ModelTokenizer tokenizer,
      ZooModel<String[], float[][]> model,
      Predictor<String[], float[][]> predictor) {
    this.spec = spec;
    this.tokenizer = tokenizer;
    this.model = model;
    this.predictor = predictor;
  }

  /** Loads {@code spec} from its package on the classpath onto {@code device}. */
  public static SentenceEmbedder load(EmbeddingModelSpec spec, Device device) {
    Path onnx = ModelFiles.extract(spec.name(), spec.onnxResource());
    ModelTokenizer tokenizer = ModelTokenizer.load(spec);
    Criteria<String[], float[][]> criteria =
        Criteria.builder()
            .setTypes(String[].class, float[][].class)
            .optEngine("OnnxRuntime")
            .optDevice(device)
            .optModelPath(onnx.getParent())
            .optModelName(stripExtension(onnx.getFileName().toString()))
            .optTranslator(new MeanPoolingTranslator(tokenizer))
            .build();
    try {
      ZooModel<String[], float[][]> model = criteria.loadModel();
      return new SentenceEmbedder(spec, tokenizer, model, model.newPredictor());
    } catch (IOException | ModelNotFoundException | MalformedModelException e) {
      tokenizer.close();
      throw new IllegalStateException(
          "cannot load embedding model " + spec.name() + " on " + device + ": " + e.getMessage(),
          e);
    }
  }

  private static String stripExtension(String fileName) {
    int dot = fileName.lastIndexOf('.');
    return dot < 0 ? fileName : fileName.substring(0, dot);
  }

  public EmbeddingModelSpec spec() {
    return spec;
  }

  /** The model's tokenizer, for counting tokens the way the model does. */
  public ModelTokenizer tokenizer() {
    return tokenizer;
  }

  public Device device() {
    return model.getNDManager().getDevice();
  }

  /** One unit vector per text, in order, in one model call. */
  public float[][] embed(List<String> texts, EmbeddingPurpose purpose) {
    if (texts.isEmpty()) {
      return new float[0][];
    }
    String[] inputs = new String[texts.size()];
    for (int i = 0; i < inputs.length; i++) {
      inputs[i] = spec.prefixed(texts.get(i), purpose);
    }
    try {
      return predictor.predict(inputs);
    } catch (TranslateException e) {
      throw new IllegalStateException(
          "embedding " + inputs.length + " texts with " + spec.name() + " failed", e);
    }
  }

  public float[] embed(String text, EmbeddingPurpose purpose) {
    return embed(List.of(text), purpose)[0];
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
    tokenizer.close();
  }
}
