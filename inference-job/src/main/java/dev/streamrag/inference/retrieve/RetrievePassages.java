package dev.streamrag.inference.retrieve;

import dev.streamrag.inference.Stages;
import dev.streamrag.jobs.resilience.ServiceBreaker;
import dev.streamrag.jobs.retrieve.KnnRetriever;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.jobs.retrieve.RetrievedChunk;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.RetrievalOptions;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.schemas.internal.Passage;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Retrieves the passages of RAG requests from OpenSearch (k-NN, or hybrid with BM25 when the
 * request asks), within the request's tenant, without blocking. Requests without a question (CHAT)
 * pass at once. A failed search ({@code retrieval.unavailable}, {@code retrieval.timeout} past
 * {@code retrieval.timeout}, or {@code retrieval.circuit_open} while most recent searches failed)
 * either degrades the request, which goes on without context and with the code in its {@code
 * degraded} list, or finishes it as ERROR; TIMEOUT if its deadline has passed meanwhile.
 *
 * <p>A {@link ServiceBreaker} skips the search for a few seconds once most recent ones failed: a
 * hung OpenSearch would otherwise cost every request the whole retrieval timeout.
 */
public final class RetrievePassages extends RichAsyncFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  private final OpenSearchEndpoint endpoint;
  private final String index;
  private final int defaultTopK;
  private final int candidates;
  private final Duration timeout;
  private final int maxConnections;
  private final boolean degrade;
  private transient KnnRetriever retriever;
  private transient ServiceBreaker breaker;
  private transient Counter failures;
  private transient Counter degraded;
  // Searches not yet settled, by identity: the search's outcome and Flink's timeout() race, and
  // only the first may touch the request and complete it.
  private transient Map<InFlightRequest, Boolean> pending;

  public RetrievePassages(
      OpenSearchEndpoint endpoint,
      String index,
      int defaultTopK,
      int candidates,
      Duration timeout,
      int maxConnections,
      boolean degrade) {
    this.degrade = degrade;
    this.endpoint = endpoint;
    this.index = index;
    this.defaultTopK = defaultTopK;
    this.candidates = candidates;
    this.timeout = timeout;
    this.maxConnections = maxConnections;
  }

  @Override
  public void open(Configuration parameters) {
    retriever =
        KnnRetriever.builder()
            .endpoint(endpoint)
            .index(index)
            .candidates(candidates)
            .timeout(timeout)
            .maxConnections(maxConnections)
            .build();
    // Cold k-NN graphs make the first searches take seconds (past retrieval.timeout): load them
    // now, while the job starts, not on the first requests.
    retriever.warmUp(null);
    breaker =
        ServiceBreaker.of("opensearch", Duration.ofSeconds(5), RetrievePassages::serviceFailure);
    pending = Collections.synchronizedMap(new IdentityHashMap<>());
    MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("retrieval");
    failures = metrics.counter("failures");
    degraded = metrics.counter("degraded");
    metrics.gauge("circuitState", (Gauge<Integer>) () -> breaker.stateCode());
  }

  @Override
  public void asyncInvoke(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    if (request.getQuestion() == null || Stages.isFinished(request)) {
      result.complete(List.of(request));
      return;
    }
    RetrievalOptions options = request.getRequest().getRetrieval();
    int topK = options == null ? defaultTopK : options.getTopK();
    String keywords = options != null && options.getHybrid() ? request.getQuestion() : null;
    Double minScore = options == null ? null : options.getMinScore();
    pending.put(request, Boolean.TRUE);
    breaker
        .call(
            () ->
                retriever.search(
                    options == null ? null : options.getIndex(),
                    request.getRequest().getTenantId(),
                    QueryEmbedding.array(request.getQueryVector()),
                    keywords,
                    topK))
        .whenComplete(
            (chunks, error) -> {
              if (pending.remove(request) == null) {
                return; // timeout() settled it already
              }
              request.getTimings().setRetrieveMs(Stages.lap(request));
              if (error != null) {
                failures.inc();
                boolean late = System.currentTimeMillis() >= request.getDeadline();
                Throwable root = rootCause(error);
                // A search past retrieval.timeout is a timeout even when the request's own
                // deadline is still ahead (a cold index, an overloaded node).
                boolean timedOut =
                    late
                        || root instanceof TimeoutException
                        || root instanceof SocketTimeoutException;
                String code =
                    root instanceof ServiceBreaker.OpenException
                        ? "retrieval.circuit_open"
                        : timedOut ? "retrieval.timeout" : "retrieval.unavailable";
                if (degrade && !late) {
                  degrade(request, code);
                } else {
                  Stages.fail(
                      request,
                      late ? ResponseStatus.TIMEOUT : ResponseStatus.ERROR,
                      code,
                      "retrieval failed: " + describe(root),
                      "retrieve",
                      true);
                }
              } else {
                request.setPassages(passages(chunks, minScore));
              }
              result.complete(List.of(request));
            });
  }

  /** Never reached while the search's own timeout works; if it is, the request ends as ERROR. */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    if (pending.remove(request) == null) {
      return; // the search's outcome settled it already
    }
    failures.inc();
    request.getTimings().setRetrieveMs(Stages.lap(request));
    if (degrade && System.currentTimeMillis() < request.getDeadline()) {
      degrade(request, "retrieval.timeout");
      result.complete(List.of(request));
      return;
    }
    result.complete(
        List.of(
            Stages.fail(
                request,
                ResponseStatus.ERROR,
                "retrieval.timeout",
                "retrieval outlived the job's async timeout",
                "retrieve",
                true)));
  }

  /** Goes on without context, saying so: the answer is marked and not cached. */
  private void degrade(InFlightRequest request, String code) {
    degraded.inc();
    List<String> codes = new ArrayList<>(request.getDegraded());
    codes.add(code);
    request.setDegraded(codes);
    request.setPassages(List.of());
  }

  private static List<Passage> passages(List<RetrievedChunk> chunks, Double minScore) {
    List<Passage> passages = new ArrayList<>(chunks.size());
    for (RetrievedChunk chunk : chunks) {
      if (minScore != null && chunk.score() < minScore) {
        continue;
      }
      passages.add(
          Passage.newBuilder()
              .setDocId(chunk.docId())
              .setChunkId(chunk.chunkId())
              .setScore(chunk.score())
              .setTitle(chunk.title())
              .setText(chunk.text())
              .build());
    }
    return passages;
  }

  /**
   * Whether a search error speaks of OpenSearch's health (timeouts, connections, 5xx, 429), not of
   * one request (an index it may not search, a bad query): only those may open the breaker.
   */
  static boolean serviceFailure(Throwable root) {
    if (root instanceof org.opensearch.client.opensearch._types.OpenSearchException e) {
      int status = e.status();
      return status >= 500 || status == 429;
    }
    return !(root instanceof IllegalArgumentException);
  }

  private static Throwable rootCause(Throwable error) {
    Throwable cause = error;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String describe(Throwable cause) {
    return cause.getClass().getSimpleName()
        + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  @Override
  public void close() {
    if (retriever != null) {
      retriever.close();
    }
  }
}
