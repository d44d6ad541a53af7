package dev.streamrag.jobs.embed;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * A model's own tokenizer (Hugging Face {@code tokenizer.json} through DJL's bundled native
 * library), so that chunk sizes and truncation are counted in the same tokens the model sees.
 * Create one per task and close it when the task closes; it holds a native handle.
 */
public final class ModelTokenizer implements AutoCloseable {
  static {
    NativeLibraries.stayOffline();
  }

  /** Pads a batch to its longest text and truncates to the model's limit: the model's input. */
  private final HuggingFaceTokenizer batchTokenizer;

  /** Neither pads nor truncates: for counting and cutting whole texts. */
  private final HuggingFaceTokenizer plainTokenizer;

  private final EmbeddingModelSpec spec;

  private ModelTokenizer(
      EmbeddingModelSpec spec,
      HuggingFaceTokenizer batchTokenizer,
      HuggingFaceTokenizer plainTokenizer) {
    this.spec = spec;
    this.batchTokenizer = batchTokenizer;
    this.plainTokenizer = plainTokenizer;
  }

  /** The tokenizer of {@code spec}, read from its model package on the classpath. */
  public static ModelTokenizer load(EmbeddingModelSpec spec) {
    byte[] json;
    try (InputStream in = ModelTokenizer.class.getResourceAsStream(spec.tokenizerResource())) {
      if (in == null) {
        throw new IllegalStateException(
            "tokenizer resource "
                + spec.tokenizerResource()
                + " of "
                + spec.name()
                + " is not on the classpath");
      }
      json = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the tokenizer of " + spec.name(), e);
    }
    HuggingFaceTokenizer batch =
        newTokenizer(
            json,
            Map.of(
                "padding", "true",
                "truncation", "true",
                "maxLength", String.valueOf(spec.maxSequenceLength())),
            spec);
    HuggingFaceTokenizer plain =
        newTokenizer(json, Map.of("padding", "false", "truncation", "false"), spec);
    return new ModelTokenizer(spec, batch, plain);
  }

  private static HuggingFaceTokenizer newTokenizer(
      byte[] json, Map<String, String> options, EmbeddingModelSpec spec) {
    try {
      return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load the tokenizer of " + spec.name(), e);
    }
  }

  public EmbeddingModelSpec spec() {
    return spec;
  }

  /** Encodes a batch, padded to its longest member and truncated to the model's limit. */
  Encoding[] encodeBatch(String[] texts) {
    return batchTokenizer.batchEncode(texts);
  }

  /** Tokens of {@code text} alone, without special tokens and without truncation. */
  public int count(String text) {
    return plainTokenizer.encode(text, false, false).getIds().length;
  }

  /**
   * Where each token of {@code text} is (without special tokens, not truncated), as {@code [start,
   * end)} indexes into the Java string, for cutting text at token boundaries. The tokenizer reports
   * code-point positions; they are converted, so text with emoji or other characters outside the
   * Basic Multilingual Plane is cut correctly.
   */
  public int[][] tokenOffsets(String text) {
    Encoding encoding = plainTokenizer.encode(text, false, false);
    CharSpan[] spans = encoding.getCharTokenSpans();
    int[] charIndexOfCodePoint = charIndexOfCodePoint(text);
    int[][] offsets = new int[spans.length][];
    int count = 0;
    for (CharSpan span : spans) {
      if (span != null) {
        offsets[count++] =
            new int[] {
              charIndexOfCodePoint[Math.min(span.getStart(), charIndexOfCodePoint.length - 1)],
              charIndexOfCodePoint[Math.min(span.getEnd(), charIndexOfCodePoint.length - 1)]
            };
      }
    }
    return count == offsets.length ? offsets : java.util.Arrays.copyOf(offsets, count);
  }

  /** For each code point position 0..n, the index of that code point in the UTF-16 string. */
  private static int[] charIndexOfCodePoint(String text) {
    int[] index = new int[text.codePointCount(0, text.length()) + 1];
    int at = 0;
    for (int cp = 0; cp < index.length - 1; cp++) {
      index[cp] = at;
      at += Character.charCount(text.codePointAt(at));
    }
    index[index.length - 1] = text.length();
    return index;
  }

  @Override
  public void close() {
    batchTokenizer.close();
    plainTokenizer.close();
  }
}
