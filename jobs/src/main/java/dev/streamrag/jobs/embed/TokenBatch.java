package dev.streamrag.jobs.embed;

import ai.djl.huggingface.tokenizers.Encoding;

/**
 * A tokenized batch as the model's three inputs, each flattened from [batch, length]: token ids,
 * attention mask (1 for real tokens, 0 for padding) and token type ids.
 */
record TokenBatch(int batch, int length, long[] ids, long[] mask, long[] types) {

  /** Encodes {@code texts} with the model's batch tokenizer (padded to the longest text). */
  static TokenBatch of(ModelTokenizer tokenizer, String[] texts) {
    Encoding[] encodings = tokenizer.encodeBatch(texts);
    int batch = encodings.length;
    int length = encodings[0].getIds().length;
    long[] ids = new long[batch * length];
    long[] mask = new long[batch * length];
    long[] types = new long[batch * length];
    for (int i = 0; i < batch; i++) {
      System.arraycopy(encodings[i].getIds(), 0, ids, i * length, length);
      System.arraycopy(encodings[i].getAttentionMask(), 0, mask, i * length, length);
      System.arraycopy(encodings[i].getTypeIds(), 0, types, i * length, length);
    }
    return new TokenBatch(batch, length, ids, mask, types);
  }
}
