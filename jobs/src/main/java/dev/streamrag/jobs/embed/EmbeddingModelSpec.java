package dev.streamrag.jobs.embed;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * A sentence-embedding model that ships inside a package from the registry: where its ONNX weights
 * and tokenizer are on the classpath, its vector size, and how to use it (longest input, prefixes,
 * normalisation). Nothing about a model is fetched from a hub at run time.
 *
 * @param name the name configuration refers to
 * @param onnxResource classpath resource of the ONNX graph (inputs {@code input_ids}, {@code
 *     attention_mask}, {@code token_type_ids}; output: last hidden state)
 * @param tokenizerResource classpath resource of the Hugging Face {@code tokenizer.json}
 * @param dimension length of the vectors it produces
 * @param maxSequenceLength longest input in tokens, [CLS] and [SEP] included; longer is truncated
 * @param queryPrefix prepended to search queries (e5 needs "query: "; MiniLM nothing)
 * @param passagePrefix prepended to indexed passages (e5 needs "passage: ")
 */
public record EmbeddingModelSpec(
    String name,
    String onnxResource,
    String tokenizerResource,
    int dimension,
    int maxSequenceLength,
    String queryPrefix,
    String passagePrefix)
    implements Serializable {

  /**
   * sentence-transformers/all-MiniLM-L6-v2 in float32, from LangChain4j's model package: 384
   * dimensions, trained on inputs up to 128 word pieces (256 accepted), mean pooling, L2
   * normalised, no prefixes.
   */
  public static final EmbeddingModelSpec ALL_MINILM_L6_V2 =
      new EmbeddingModelSpec(
          "all-minilm-l6-v2",
          "/all-minilm-l6-v2.onnx",
          "/all-minilm-l6-v2-tokenizer.json",
          384,
          256,
          "",
          "");

  private static final List<EmbeddingModelSpec> BUNDLED = List.of(ALL_MINILM_L6_V2);

  public EmbeddingModelSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(onnxResource, "onnxResource");
    Objects.requireNonNull(tokenizerResource, "tokenizerResource");
    Objects.requireNonNull(queryPrefix, "queryPrefix");
    Objects.requireNonNull(passagePrefix, "passagePrefix");
    if (dimension < 1 || maxSequenceLength < 3) {
      throw new IllegalArgumentException(
          "dimension must be positive and maxSequenceLength at least 3, got "
              + dimension
              + " and "
              + maxSequenceLength);
    }
  }

  /** A bundled model by name (case-insensitive). */
  public static EmbeddingModelSpec bundled(String name) {
    for (EmbeddingModelSpec spec : BUNDLED) {
      if (spec.name().equalsIgnoreCase(name.trim())) {
        return spec;
      }
    }
    throw new IllegalArgumentException(
        "unknown embedding model '"
            + name
            + "'; bundled: "
            + BUNDLED.stream().map(EmbeddingModelSpec::name).toList());
  }

  /** The text to embed for {@code purpose}: the model's prefix, then the text. */
  public String prefixed(String text, EmbeddingPurpose purpose) {
    String prefix = purpose == EmbeddingPurpose.QUERY ? queryPrefix : passagePrefix;
    return prefix.isEmpty() ? text : prefix + text;
  }
}
