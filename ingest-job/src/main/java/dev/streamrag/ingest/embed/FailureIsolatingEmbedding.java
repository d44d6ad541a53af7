package dev.streamrag.ingest.embed;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.jobs.batch.BatchFunction;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.RuntimeContext;

/**
 * Embeds chunk actions with a model call that may throw, without letting it fail the task. A batch
 * that throws is split in halves and each half tried again, down to single chunks, so one chunk the
 * model cannot take fails only itself (about log2(batch) extra calls per poisonous chunk; if the
 * model fails for everything, each chunk ends up tried alone once). A chunk that fails alone is
 * marked {@value #FAILED} with the error, and the index writer dead-letters its document.
 *
 * <p>Only exceptions are caught: an {@link Error} (out of memory, a broken native library) still
 * fails the task, as it should.
 */
public final class FailureIsolatingEmbedding implements BatchFunction<ChunkAction, ChunkAction> {
  private static final long serialVersionUID = 1L;

  /** The dead-letter reason code of a document a chunk of which could not be embedded. */
  public static final String FAILED = "embedding.failed";

  private static final int MAX_ERROR_CHARS = 500;

  private final BatchFunction<ChunkAction, ChunkAction> model;

  /**
   * @param model the model call, one result per element and in order (e.g. EmbedBatchFunction)
   */
  public FailureIsolatingEmbedding(BatchFunction<ChunkAction, ChunkAction> model) {
    this.model = model;
  }

  @Override
  public void open(RuntimeContext context) throws Exception {
    model.open(context);
  }

  @Override
  public List<ChunkAction> apply(List<ChunkAction> batch) {
    return attempt(batch);
  }

  private List<ChunkAction> attempt(List<ChunkAction> batch) {
    Exception error;
    try {
      List<ChunkAction> results = model.apply(batch);
      if (results.size() == batch.size()) {
        return results;
      }
      error =
          new IllegalStateException(
              "the model returned " + results.size() + " results for " + batch.size() + " texts");
    } catch (Exception e) {
      error = e;
    }
    if (batch.size() == 1) {
      ChunkAction action = batch.get(0);
      action.vector = null;
      return List.of(action.fail(FAILED, "embedding failed: " + describe(error)));
    }
    int half = batch.size() / 2;
    List<ChunkAction> results = new ArrayList<>(batch.size());
    results.addAll(attempt(batch.subList(0, half)));
    results.addAll(attempt(batch.subList(half, batch.size())));
    return results;
  }

  private static String describe(Exception error) {
    String text = error.getClass().getSimpleName() + ": " + error.getMessage();
    return text.length() <= MAX_ERROR_CHARS ? text : text.substring(0, MAX_ERROR_CHARS) + "…";
  }

  @Override
  public void close() throws Exception {
    model.close();
  }
}
