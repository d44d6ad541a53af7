package dev.streamrag.inference.validate;

import dev.streamrag.inference.Stages;
import dev.streamrag.jobs.cache.CacheKeys;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.StageTimings;
import dev.streamrag.schemas.ids.Identifiers;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Either;
import org.apache.flink.util.Collector;

/**
 * The first stage: turns each decoded request into an {@link InFlightRequest} with its model,
 * deadline and cache keys resolved, or finishes it at once. A request that breaks a {@link
 * RequestRules} rule is finished as REJECTED (or TIMEOUT if its deadline already passed). A record
 * that did not decode goes to the dead-letter output, and, when its requestId and tenant could be
 * read, also gets a REJECTED response so that its client is not left waiting. A second request with
 * the id of one still in flight is a dead letter ({@code validation.duplicate_request_id}), not a
 * second answer under that id.
 */
public final class RequestValidator
    extends ProcessFunction<Either<DeadLetter, InferenceRequest>, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  /** Whether and how answers are cached. */
  public record CachePolicy(
      boolean enabled, boolean cacheNondeterministic, String indexVersion, String embeddingModel)
      implements java.io.Serializable {}

  private final RequestRules rules;
  private final Duration defaultTimeout;
  private final Duration maxTimeout;
  private final CachePolicy cache;
  private final String job;

  /** Ids admitted per subtask; bounded so a flood of unique ids cannot exhaust the heap. */
  static final int IN_FLIGHT_CAPACITY = 200_000;

  private transient RequestsInFlight inFlight;

  /**
   * @param maxTimeout a deadline further from createdAt is brought in to it: an unbounded one would
   *     hold Async I/O slots and retries for as long as a client likes
   */
  public RequestValidator(
      RequestRules rules,
      Duration defaultTimeout,
      Duration maxTimeout,
      CachePolicy cache,
      String job) {
    this.rules = rules;
    this.defaultTimeout = defaultTimeout;
    this.maxTimeout = maxTimeout;
    this.cache = cache;
    this.job = job;
  }

  @Override
  public void processElement(
      Either<DeadLetter, InferenceRequest> element,
      Context context,
      Collector<InFlightRequest> out) {
    long nowMillis = System.currentTimeMillis();
    Long recordTimestamp = context.timestamp();
    if (element.isLeft()) {
      DeadLetter deadLetter = element.left();
      context.output(SplitDeadLetters.DEAD_LETTERS, deadLetter);
      // Answered only when the id can address a response (a valid one); the tenant is echoed as
      // the dead letter clipped it.
      if (Identifiers.validRequestId(deadLetter.getRequestId())
          && deadLetter.getTenantId() != null
          && !inFlight()
              .contains(
                  inFlightKey(deadLetter.getTenantId(), deadLetter.getRequestId()), nowMillis)) {
        InferenceRequest stub =
            InferenceRequest.newBuilder()
                .setRequestId(deadLetter.getRequestId())
                .setTenantId(deadLetter.getTenantId())
                .build();
        InFlightRequest request = start(stub, recordTimestamp, nowMillis);
        context.output(
            Stages.FINISHED,
            Stages.fail(
                request,
                dev.streamrag.schemas.ResponseStatus.REJECTED,
                deadLetter.getReasonCode(),
                deadLetter.getReason(),
                "validate",
                false));
      }
      return;
    }
    InferenceRequest decoded = element.right();
    if (decoded.getRequestId() == null || decoded.getRequestId().isBlank()) {
      context.output(
          SplitDeadLetters.DEAD_LETTERS,
          DeadLetters.rejected(
              "validation.missing_request_id",
              "requestId is empty: a response could not be addressed",
              "validate",
              job,
              decoded.toString().getBytes(StandardCharsets.UTF_8),
              null,
              decoded.getTenantId(),
              Instant.ofEpochMilli(nowMillis)));
      return;
    }
    if (!Identifiers.validRequestId(decoded.getRequestId())) {
      context.output(
          SplitDeadLetters.DEAD_LETTERS,
          DeadLetters.rejected(
              "validation.request_id",
              "requestId must be 1 to "
                  + Identifiers.MAX_REQUEST_ID_CHARS
                  + " characters without control characters: a response could not be addressed",
              "validate",
              job,
              decoded.toString().getBytes(StandardCharsets.UTF_8),
              decoded.getRequestId(),
              decoded.getTenantId(),
              Instant.ofEpochMilli(nowMillis)));
      return;
    }
    InFlightRequest request = start(decoded, recordTimestamp, nowMillis);
    Optional<RequestRules.Violation> violation =
        rules.check(decoded, request.getCreatedAt(), request.getDeadline(), nowMillis);
    String key = inFlightKey(decoded.getTenantId(), decoded.getRequestId());
    if (violation.isPresent() && inFlight().contains(key, nowMillis)) {
      // A broken copy of a request in flight: a REJECTED under its id would pass for its answer.
      context.output(SplitDeadLetters.DEAD_LETTERS, duplicate(decoded, nowMillis));
      return;
    }
    if (violation.isPresent()) {
      RequestRules.Violation v = violation.get();
      if (RequestRules.aboutEchoedFields(v.code())) {
        // Echoed as they came, these fields could make the REJECTED response itself too large.
        decoded.setTenantId(
            Identifiers.clip(decoded.getTenantId(), Identifiers.MAX_TENANT_ID_CHARS));
        decoded.setTraceId(null);
        decoded.setAttributes(Map.of());
      }
      context.output(
          Stages.FINISHED,
          Stages.fail(request, v.status(), v.code(), v.message(), "validate", false));
      return;
    }
    // Held until the deadline, counted from now at the latest: a createdAt in the future must
    // not block the id for longer than a request may live.
    long heldUntil =
        Math.min(request.getDeadline(), saturatedAdd(nowMillis, maxTimeout.toMillis()));
    if (!inFlight().admit(key, heldUntil, nowMillis)) {
      // A dead letter, not a response: a response under this id would be taken for the answer.
      context.output(SplitDeadLetters.DEAD_LETTERS, duplicate(decoded, nowMillis));
      return;
    }
    planCaching(request);
    if (decoded.getKind() == RequestKind.RAG) {
      request.setQuestion(RequestRules.question(decoded));
      if (cache.enabled()) {
        request.setEmbeddingCacheKey(
            CacheKeys.embedding(
                decoded.getTenantId(), cache.embeddingModel(), request.getQuestion()));
      }
    }
    out.collect(request);
  }

  private RequestsInFlight inFlight() {
    if (inFlight == null) {
      inFlight = new RequestsInFlight(IN_FLIGHT_CAPACITY);
    }
    return inFlight;
  }

  /** Ids are the client's, per tenant: two tenants' equal ids are different requests. */
  private static String inFlightKey(String tenantId, String requestId) {
    return tenantId + '\u0000' + requestId;
  }

  private DeadLetter duplicate(InferenceRequest decoded, long nowMillis) {
    return DeadLetters.rejected(
        "validation.duplicate_request_id",
        "a request with this requestId is already in flight (until its deadline); the copy is not"
            + " answered: retry with a new requestId",
        "validate",
        job,
        decoded.toString().getBytes(StandardCharsets.UTF_8),
        decoded.getRequestId(),
        decoded.getTenantId(),
        Instant.ofEpochMilli(nowMillis));
  }

  private InFlightRequest start(InferenceRequest request, Long recordTimestamp, long nowMillis) {
    long createdAt =
        request.getCreatedAt() != null
            ? request.getCreatedAt().toEpochMilli()
            : recordTimestamp != null && recordTimestamp > 0 ? recordTimestamp : nowMillis;
    // Saturating: a createdAt near Long.MAX_VALUE must not wrap the deadline into the past.
    long latest = saturatedAdd(createdAt, maxTimeout.toMillis());
    long deadline =
        request.getDeadline() != null
            ? Math.min(request.getDeadline().toEpochMilli(), latest)
            : Math.min(saturatedAdd(createdAt, defaultTimeout.toMillis()), latest);
    long nowMicros = Stages.nowMicros();
    StageTimings timings = new StageTimings();
    timings.setQueueMs(Math.max(0, nowMicros / 1000.0 - createdAt));
    return InFlightRequest.newBuilder()
        .setRequest(request)
        .setModel(request.getModel() == null ? rules.defaultModel() : request.getModel())
        .setCreatedAt(createdAt)
        .setDeadline(deadline)
        .setMarkMicros(nowMicros)
        .setTimings(timings)
        .setPassages(List.of())
        .setPrompt(List.of())
        .build();
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  /** Only reproducible answers are cached unless configured otherwise: greedy or seeded. */
  private void planCaching(InFlightRequest request) {
    InferenceRequest r = request.getRequest();
    // An agent's answer depends on what its tools answered then: it is never cached.
    if (!cache.enabled()
        || r.getCacheMode() == CacheMode.BYPASS
        || r.getKind() == RequestKind.AGENT) {
      return;
    }
    boolean deterministic =
        (r.getTemperature() != null && r.getTemperature() == 0) || r.getSeed() != null;
    if (!deterministic && !cache.cacheNondeterministic()) {
      return;
    }
    String indexVersion = r.getKind() == RequestKind.RAG ? cache.indexVersion() : null;
    request.setResponseCacheKey(CacheKeys.response(r, request.getModel(), indexVersion));
    request.setCacheRead(r.getCacheMode() == CacheMode.DEFAULT);
  }
}
