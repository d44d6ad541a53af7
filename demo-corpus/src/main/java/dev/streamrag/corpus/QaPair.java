package dev.streamrag.corpus;

/**
 * A question whose answer is in exactly one document of the corpus.
 *
 * @param questionId stable id, e.g. {@code q-000042-1}
 * @param tenantId the tenant whose documents hold the answer
 * @param docId the document that answers it
 * @param question asked in natural language, naming the entity
 * @param answer the exact answer text, as it appears in the document
 */
public record QaPair(
    String questionId, String tenantId, String docId, String question, String answer) {}
