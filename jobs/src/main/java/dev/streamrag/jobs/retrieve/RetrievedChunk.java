package dev.streamrag.jobs.retrieve;

/**
 * A chunk found for a query, with what a prompt and a citation need.
 *
 * @param score OpenSearch's k-NN score (for cosine, (1 + cosine) / 2): higher is closer
 */
public record RetrievedChunk(
    String chunkId,
    String tenantId,
    String docId,
    int chunkIndex,
    String title,
    String text,
    double score) {}
