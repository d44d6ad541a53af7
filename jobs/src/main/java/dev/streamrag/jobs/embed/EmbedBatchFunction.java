package dev.streamrag.jobs.embed;

import dev.streamrag.jobs.batch.BatchFunction;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.util.function.SerializableFunction;

/**
 * Embeds a batch of elements in one model call: the text of each element is embedded and the vector
 * attached to it. The model is loaded once per task in {@code open()}, on the device that
 * configuration and Flink's {@code gpu} external resource select ({@link EmbeddingDevice}).
 */
public final class EmbedBatchFunction<IN, OUT> implements BatchFunction<IN, OUT> {
  private static final long serialVersionUID = 1L;

  /** Flink's name for the GPU external resource (external-resources: gpu). */
  public static final String GPU_RESOURCE = "gpu";

  /** Makes the output element from an input element and its vector. */
  @FunctionalInterface
  public interface Attach<IN, OUT> extends Serializable {
    OUT apply(IN element, float[] vector);
  }

  /** Makes the output element for an input element that could not be embedded. */
  @FunctionalInterface
  public interface Failed<IN, OUT> extends Serializable {
    OUT apply(IN element, Exception error);
  }

  private final EmbeddingModelSpec spec;
  private final String device;
  private final EmbeddingPurpose purpose;
  private final SerializableFunction<IN, String> text;
  private final Attach<IN, OUT> attach;
  private final Failed<IN, OUT> failed;
  private transient SentenceEmbedder embedder;

  /**
   * @param device {@code cpu}, {@code gpu}, {@code gpu:N} or {@code auto}
   * @param text the text to embed of an element, or null to pass it through unembedded
   */
  public EmbedBatchFunction(
      EmbeddingModelSpec spec,
      String device,
      EmbeddingPurpose purpose,
      SerializableFunction<IN, String> text,
      Attach<IN, OUT> attach) {
    this(spec, device, purpose, text, attach, null);
  }

  /**
   * @param failed the output for an element whose embedding failed, or null to fail the task
   */
  public EmbedBatchFunction(
      EmbeddingModelSpec spec,
      String device,
      EmbeddingPurpose purpose,
      SerializableFunction<IN, String> text,
      Attach<IN, OUT> attach,
      Failed<IN, OUT> failed) {
    this.failed = failed;
    this.spec = spec;
    this.device = device;
    this.purpose = purpose;
    this.text = text;
    this.attach = attach;
  }

  @Override
  public void open(RuntimeContext context) {
    List<String> gpus = new ArrayList<>();
    for (ExternalResourceInfo gpu : context.getExternalResourceInfos(GPU_RESOURCE)) {
      gpu.getProperty("index").ifPresent(gpus::add);
    }
    embedder = SentenceEmbedder.load(spec, EmbeddingDevice.select(device, gpus));
  }

  /** Elements whose text is null are not embedded: {@code attach} gets a null vector for them. */
  @Override
  public List<OUT> apply(List<IN> batch) {
    List<String> texts = new ArrayList<>(batch.size());
    int[] position = new int[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      String value = text.apply(batch.get(i));
      position[i] = value == null ? -1 : texts.size();
      if (value != null) {
        texts.add(value);
      }
    }
    float[][] vectors = embedder.embed(texts, purpose);
    List<OUT> results = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      results.add(attach.apply(batch.get(i), position[i] < 0 ? null : vectors[position[i]]));
    }
    return results;
  }

  @Override
  public OUT failed(IN element, Exception error) throws Exception {
    if (failed == null) {
      throw error;
    }
    return failed.apply(element, error);
  }

  @Override
  public void close() {
    if (embedder != null) {
      embedder.close();
      embedder = null;
    }
  }
}
