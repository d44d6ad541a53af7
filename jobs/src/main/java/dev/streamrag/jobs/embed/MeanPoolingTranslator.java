package dev.streamrag.jobs.embed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

/**
 * Texts in, unit vectors out, for BERT-style sentence encoders: tokenizes the whole batch (padded
 * to its longest text), runs the model once, then averages each text's token vectors over its
 * attention mask (padding excluded) and scales the mean to length 1, as sentence-transformers does
 * for these models.
 *
 * <p>Pooling is done in Java on the output array rather than with NDArray operations: DJL's ONNX
 * Runtime engine implements few NDArray operators itself and would need a second engine for them.
 */
final class MeanPoolingTranslator implements NoBatchifyTranslator<String[], float[][]> {
  private static final String MASK = "attention-mask";

  private final ModelTokenizer tokenizer;

  MeanPoolingTranslator(ModelTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  @Override
  public NDList processInput(TranslatorContext ctx, String[] texts) {
    TokenBatch tokens = TokenBatch.of(tokenizer, texts);
    ctx.setAttachment(MASK, tokens.mask());
    NDManager manager = ctx.getNDManager();
    Shape shape = new Shape(tokens.batch(), tokens.length());
    return new NDList(
        named(manager.create(tokens.ids(), shape), "input_ids"),
        named(manager.create(tokens.mask(), shape), "attention_mask"),
        named(manager.create(tokens.types(), shape), "token_type_ids"));
  }

  private static NDArray named(NDArray array, String name) {
    array.setName(name);
    return array;
  }

  @Override
  public float[][] processOutput(TranslatorContext ctx, NDList output) {
    NDArray hidden = output.get(0); // last hidden state: [batch, tokens, dims]
    Shape shape = hidden.getShape();
    int batch = (int) shape.get(0);
    int length = (int) shape.get(1);
    int dims = (int) shape.get(2);
    return pool(hidden.toFloatArray(), (long[]) ctx.getAttachment(MASK), batch, length, dims);
  }

  /**
   * Mean of each text's token vectors over its attention mask, scaled to unit length.
   *
   * @param values the last hidden state, flattened from [batch, length, dims]
   * @param mask the attention mask, flattened from [batch, length]
   */
  static float[][] pool(float[] values, long[] mask, int batch, int length, int dims) {
    float[][] vectors = new float[batch][dims];
    for (int i = 0; i < batch; i++) {
      float[] vector = vectors[i];
      int tokens = 0;
      for (int t = 0; t < length; t++) {
        if (mask[i * length + t] == 0) {
          continue;
        }
        tokens++;
        int offset = (i * length + t) * dims;
        for (int d = 0; d < dims; d++) {
          vector[d] += values[offset + d];
        }
      }
      normalise(vector, Math.max(tokens, 1));
    }
    return vectors;
  }

  /** Divides by the token count, then scales to unit length (a zero vector stays zero). */
  private static void normalise(float[] vector, int tokens) {
    double norm = 0;
    for (int d = 0; d < vector.length; d++) {
      vector[d] /= tokens;
      norm += (double) vector[d] * vector[d];
    }
    norm = Math.sqrt(norm);
    if (norm > 0) {
      for (int d = 0; d < vector.length; d++) {
        vector[d] /= (float) norm;
      }
    }
  }
}
