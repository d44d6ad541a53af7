package dev.streamrag.jobs.embed;

/** Whether a text is a search query or a passage to index; some models prefix them differently. */
public enum EmbeddingPurpose {
  QUERY,
  PASSAGE
}
