package dev.streamrag.inference.agent;

import dev.streamrag.jobs.embed.EmbeddingDevice;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.embed.SentenceEmbedder;
import dev.streamrag.jobs.llm.ToolDefinition;
import dev.streamrag.jobs.retrieve.KnnRetriever;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.jobs.retrieve.RetrievedChunk;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The built-in {@code search_documents}: the request's tenant's own retrieval, as RAG requests have
 * it (the question embedded, then k-NN plus BM25 on the same index). The tenant is the request's,
 * never an argument, so a model cannot search another tenant's documents.
 *
 * <p>The embedding model is loaded when the task starts, on the tool's own thread, which also runs
 * every embedding (a failed load is tried again by the next search).
 */
final class SearchDocumentsTool implements AgentTool, AutoCloseable {
  static final String NAME = "search_documents";
  private static final int MAX_TOP_K = 10;
  private static final int MAX_PASSAGE_CHARS = 1_000;
  private static final ToolDefinition DEFINITION =
      new ToolDefinition(
          NAME,
          "Searches the documents of the asking tenant for passages about a query, best first,"
              + " each with its document id and title.",
          "{\"type\":\"object\",\"properties\":{"
              + "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2000,"
              + "\"description\":\"What to search for\"},"
              + "\"top_k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":"
              + MAX_TOP_K
              + ",\"description\":\"How many passages (default 3)\"}},"
              + "\"required\":[\"query\"],\"additionalProperties\":false}");

  private final EmbeddingModelSpec model;
  private final KnnRetriever retriever;
  private final ExecutorService embedding;
  private SentenceEmbedder embedder; // only on the embedding thread

  SearchDocumentsTool(
      EmbeddingModelSpec model, OpenSearchEndpoint opensearch, String index, Duration timeout) {
    this.model = model;
    this.retriever =
        KnnRetriever.builder()
            .endpoint(opensearch)
            .index(index)
            .timeout(timeout)
            .maxConnections(8)
            .build();
    this.embedding =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-search-embedding");
              thread.setDaemon(true);
              return thread;
            });
    // Loaded now, in the background, so the first search does not wait out the load (seconds).
    embedding.execute(this::load);
  }

  private void load() {
    if (embedder == null) {
      embedder = SentenceEmbedder.load(model, EmbeddingDevice.select("cpu", List.of()));
    }
  }

  @Override
  public ToolDefinition definition() {
    return DEFINITION;
  }

  @Override
  public String origin() {
    return "built-in";
  }

  @Override
  public CompletableFuture<ToolResult> call(ToolInvocation invocation) {
    String query = String.valueOf(invocation.arguments().get("query"));
    Object k = invocation.arguments().get("top_k");
    int topK = k instanceof Number number ? number.intValue() : 3;
    return CompletableFuture.supplyAsync(() -> embed(query), embedding)
        .thenCompose(vector -> retriever.search(null, invocation.tenant(), vector, query, topK))
        .thenApply(SearchDocumentsTool::describe);
  }

  private float[] embed(String query) {
    load();
    return embedder.embed(query, EmbeddingPurpose.QUERY);
  }

  private static ToolResult describe(List<RetrievedChunk> chunks) {
    if (chunks.isEmpty()) {
      return ToolResult.ok("No passage matches.");
    }
    StringBuilder text = new StringBuilder();
    int rank = 1;
    for (RetrievedChunk chunk : chunks) {
      String passage = chunk.text();
      if (passage.length() > MAX_PASSAGE_CHARS) {
        passage = passage.substring(0, MAX_PASSAGE_CHARS) + "...";
      }
      text.append(rank++)
          .append(". [")
          .append(chunk.docId())
          .append("] ")
          .append(chunk.title() == null ? "" : chunk.title() + ": ")
          .append(passage)
          .append('\n');
    }
    return ToolResult.ok(text.toString().strip());
  }

  @Override
  public void close() {
    embedding.execute(
        () -> {
          if (embedder != null) {
            embedder.close();
            embedder = null;
          }
        });
    embedding.shutdown();
    retriever.close();
  }
}
