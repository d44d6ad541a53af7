package dev.streamrag.jobs.chunk;

/**
 * A piece of a document's text.
 *
 * @param index 0, 1, 2, ... in document order; with the document id it makes the chunk's id
 * @param text the chunk's text, cut from the document at token boundaries
 * @param start where the chunk starts in the document's text (UTF-16 index)
 * @param end where it ends, exclusive
 * @param tokens the model tokens it holds
 */
public record Chunk(int index, String text, int start, int end, int tokens) {}
