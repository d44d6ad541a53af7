package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import java.io.IOException;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * Sends chunk actions to the index as one bulk request. The real one is {@link
 * OpenSearchBulkTransport}; tests put a fault-injecting double here to produce what a real cluster
 * will not do on demand (429s).
 */
public interface BulkTransport extends AutoCloseable {

  /**
   * Sends {@code actions} (UPSERTs carry their vectors) as one bulk request.
   *
   * @param timeout the longest the request may take (what is left of the flush's deadline)
   * @return one result per action, in order
   * @throws RequestFailed when the whole request was refused with an HTTP status
   * @throws IOException when OpenSearch could not be reached or did not answer
   */
  List<ItemResult> send(List<ChunkAction> actions, Duration timeout) throws IOException;

  @Override
  void close() throws IOException;

  /** The outcome of one action: 2xx (or 404 for a delete of nothing) is success. */
  record ItemResult(int status, String error) {
    public static final ItemResult OK = new ItemResult(200, null);

    public boolean ok() {
      return error == null;
    }
  }

  /** The whole bulk request was answered with an error status. */
  final class RequestFailed extends IOException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public RequestFailed(int status, String message) {
      super("bulk request failed with status " + status + ": " + message);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  /** Opens a transport on the task (the operator is serialized, the client is not). */
  @FunctionalInterface
  interface Factory extends Serializable {
    BulkTransport open();
  }
}
