package dev.streamrag.inference.output;

import dev.streamrag.inference.Stages;
import dev.streamrag.inference.cache.CachedValues;
import dev.streamrag.inference.pieces.PieceCounters;
import dev.streamrag.inference.pieces.RequestPieces;
import dev.streamrag.inference.quota.InFlightSlots;
import dev.streamrag.jobs.cache.RedisCache;
import dev.streamrag.jobs.cache.RedisEndpoint;
import dev.streamrag.jobs.pieces.AnswerStream;
import dev.streamrag.jobs.pieces.PieceMetrics;
import dev.streamrag.jobs.pieces.PiecePublisher;
import dev.streamrag.jobs.pieces.PieceSettings;
import dev.streamrag.schemas.AgentRun;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The last stage, which every request passes exactly once: stamps the response (completion time,
 * total latency, echoed fields), emits it with its {@link LatencyRecord} (side output {@link
 * #LATENCY}), writes fresh answers and query vectors back to Redis (fire and forget: the cache is
 * an optimisation, a failed write is only counted), and records the per-stage metrics.
 *
 * <p>It also publishes the pieces of every answer the LLM stage did not stream (cache hits,
 * rejections, failures before or around the LLM call): a generation of HEAD, the whole text as one
 * DELTA if there is any, and END, at once rather than at the next checkpoint.
 *
 * <p>Producing a response frees the request's concurrency slot ({@link InFlightSlots}).
 */
public final class FinishResponse extends ProcessFunction<InFlightRequest, InferenceResponse>
    implements CheckpointedFunction {
  private static final long serialVersionUID = 1L;
  private static final int HISTOGRAM_WINDOW = 10_000;

  public static final OutputTag<LatencyRecord> LATENCY =
      new OutputTag<>("latency", new AvroTypeInfo<>(LatencyRecord.class));

  private final RedisEndpoint redis;
  private final Duration cacheTimeout;
  private final Duration responseTtl;
  private final Duration embeddingTtl;
  private final PieceSettings pieces;
  private transient RedisCache cache;
  private transient PiecePublisher publisher;
  private transient PieceMetrics pieceMetrics;
  private transient Map<String, Histogram> stageMillis;
  private transient Map<String, Counter> byStatus;
  private transient Map<String, Counter> byError;
  private transient MetricGroup metrics;
  private transient Counter cacheHits;
  private transient Counter cacheWrites;
  private transient Counter cacheWriteFailures;
  private transient Counter truncated;
  private transient String quotaTask;

  /**
   * @param redis the cache to write back to, or null to write nothing
   * @param pieces where to publish answers' pieces, or null to publish none
   */
  public FinishResponse(
      RedisEndpoint redis,
      Duration cacheTimeout,
      Duration responseTtl,
      Duration embeddingTtl,
      PieceSettings pieces) {
    this.redis = redis;
    this.cacheTimeout = cacheTimeout;
    this.responseTtl = responseTtl;
    this.embeddingTtl = embeddingTtl;
    this.pieces = pieces;
  }

  @Override
  public void open(Configuration parameters) {
    if (redis != null) {
      cache = RedisCache.builder().endpoint(redis).timeout(cacheTimeout).build();
    }
    metrics = getRuntimeContext().getMetricGroup().addGroup("requests");
    stageMillis = new HashMap<>();
    byStatus = new HashMap<>();
    byError = new HashMap<>();
    for (String stage :
        new String[] {
          "queue", "cache", "embed", "retrieve", "prompt", "ttft", "tpot", "llm", "total"
        }) {
      stageMillis.put(
          stage,
          metrics
              .addGroup("stage", stage)
              .histogram("micros", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW)));
    }
    // Every status from the start, at zero: an error-rate alert then sees 0, not a missing series.
    for (ResponseStatus status : ResponseStatus.values()) {
      byStatus.put(status.name(), metrics.addGroup("status", status.name()).counter("count"));
    }
    cacheHits = metrics.counter("cacheHits");
    cacheWrites = metrics.counter("cacheWrites");
    cacheWriteFailures = metrics.counter("cacheWriteFailures");
    truncated = metrics.counter("truncated_total");
    quotaTask = InFlightSlots.taskKey(getRuntimeContext());
    if (pieces != null) {
      publisher = PiecePublisher.acquire(pieces);
      pieceMetrics = new PieceCounters(getRuntimeContext().getMetricGroup());
    }
  }

  /** Pieces handed to Kafka before this checkpoint are acknowledged before it completes. */
  @Override
  public void snapshotState(FunctionSnapshotContext context) {
    if (publisher != null) {
      publisher.flush();
    }
  }

  @Override
  public void initializeState(FunctionInitializationContext context) {}

  @Override
  public void processElement(
      InFlightRequest request, Context context, Collector<InferenceResponse> out) {
    InferenceResponse response = request.getResponse();
    if (response == null) { // a stage let an unfinished request through: a bug, but answer it
      response =
          Stages.fail(
                  request,
                  ResponseStatus.ERROR,
                  "internal.unfinished",
                  "the request left the pipeline without an answer",
                  "output",
                  true)
              .getResponse();
    }
    InferenceRequest r = request.getRequest();
    long now = System.currentTimeMillis();
    StageTimings timings = request.getTimings();
    timings.setTotalMs(Math.max(0, Stages.nowMicros() / 1000.0 - request.getCreatedAt()));
    response.setTimings(timings);
    response.setCreatedAt(Instant.ofEpochMilli(request.getCreatedAt()));
    response.setCompletedAt(Instant.ofEpochMilli(now));
    response.setTraceId(r.getTraceId());
    response.setAttributes(r.getAttributes());
    if (response.getModel() == null) {
      response.setModel(request.getModel());
    }
    if (OutputLimits.fit(response)) {
      truncated.inc();
    }
    // The latency record is the operators' and names the endpoint; the tenant's response does not.
    LatencyRecord latencyRecord = latency(response);
    response.setLlmEndpoint(ClientErrors.endpointLabel(response.getLlmEndpoint()));
    writeBack(request, response);
    publishPieces(request, response);
    // The request's concurrency slot, if the quota stage of this subtask gave it one.
    InFlightSlots.release(quotaTask, r.getTenantId(), r.getRequestId());
    out.collect(response);
    context.output(LATENCY, latencyRecord);
    record(response);
  }

  /** The whole answer as one generation, unless the LLM stage streamed it already. */
  private void publishPieces(InFlightRequest request, InferenceResponse response) {
    if (publisher == null || request.getPiecesEnded()) {
      return;
    }
    AnswerStream stream =
        RequestPieces.open(
            publisher,
            request,
            response.getCitations(),
            response.getCacheHit(),
            pieceMetrics,
            request.getLastGeneration());
    if (response.getText() != null) {
      stream.whole(
          response.getText(),
          response.getUsage() == null ? 0 : response.getUsage().getCompletionTokens());
    }
    stream.end(response, StageTimings.newBuilder(response.getTimings()).build());
  }

  private void writeBack(InFlightRequest request, InferenceResponse response) {
    if (cache == null) {
      return;
    }
    // A degraded answer (no context) is not what the request would get from a healthy system.
    if (response.getStatus() == ResponseStatus.OK
        && response.getCacheHit() == CacheHitKind.NONE
        && response.getDegraded().isEmpty()
        && request.getResponseCacheKey() != null) {
      count(cache.put(request.getResponseCacheKey(), CachedValues.response(response), responseTtl));
    }
    if (request.getEmbeddingCacheKey() != null
        && request.getQueryVector() != null
        && !request.getEmbeddingFromCache()) {
      count(
          cache.put(
              request.getEmbeddingCacheKey(),
              CachedValues.vector(request.getQueryVector()),
              embeddingTtl));
    }
  }

  private void count(java.util.concurrent.CompletableFuture<Boolean> write) {
    // Completes on a Redis thread; Flink's SimpleCounter tolerates the rare lost increment.
    write.thenAccept(ok -> (ok ? cacheWrites : cacheWriteFailures).inc());
  }

  static LatencyRecord latency(InferenceResponse response) {
    AgentRun agent = response.getAgent();
    return LatencyRecord.newBuilder()
        .setRequestId(response.getRequestId())
        .setTenantId(response.getTenantId())
        .setKind(response.getKind())
        .setStatus(response.getStatus())
        .setCacheHit(response.getCacheHit())
        .setModel(response.getModel())
        .setLlmEndpoint(response.getLlmEndpoint())
        .setLlmPool(response.getLlmPool())
        .setCreatedAt(response.getCreatedAt())
        .setCompletedAt(response.getCompletedAt())
        .setTimings(response.getTimings())
        .setPromptTokens(response.getUsage() == null ? null : response.getUsage().getPromptTokens())
        .setCompletionTokens(
            response.getUsage() == null ? null : response.getUsage().getCompletionTokens())
        .setRetries(response.getRetries())
        .setErrorCode(response.getError() == null ? null : response.getError().getCode())
        .setAttributes(response.getAttributes())
        .setAgentSteps(agent == null ? null : agent.getSteps().size())
        .setToolCalls(
            agent == null
                ? null
                : agent.getSteps().stream().mapToInt(step -> step.getToolCalls().size()).sum())
        .setToolErrors(
            agent == null
                ? null
                : (int)
                    agent.getSteps().stream()
                        .flatMap(step -> step.getToolCalls().stream())
                        .filter(call -> !call.getOk())
                        .count())
        .build();
  }

  private void record(InferenceResponse response) {
    StageTimings t = response.getTimings();
    observe("queue", t.getQueueMs());
    observe("cache", t.getCacheMs());
    observe("embed", t.getEmbedMs());
    observe("retrieve", t.getRetrieveMs());
    observe("prompt", t.getPromptMs());
    observe("ttft", t.getTtftMs());
    observe("tpot", t.getTpotMs());
    observe("llm", t.getLlmMs());
    observe("total", t.getTotalMs());
    byStatus.get(response.getStatus().name()).inc();
    if (response.getError() != null) {
      byError
          .computeIfAbsent(
              response.getError().getCode(), c -> metrics.addGroup("error", c).counter("count"))
          .inc();
    }
    if (response.getCacheHit() != CacheHitKind.NONE) {
      cacheHits.inc();
    }
  }

  private void observe(String stage, Double millis) {
    if (millis != null) {
      stageMillis.get(stage).update(Math.round(millis * 1000)); // µs: histograms take longs
    }
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.close();
    }
    if (publisher != null) {
      publisher.release();
      publisher = null;
    }
  }
}
