package dev.streamrag.inference.quota;

import dev.streamrag.inference.Stages;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quota stage, right after validation and before the response cache, so that a request over its
 * tenant's quota ends before it costs a cache read, an embedding, a search or an LLM call: it is
 * finished as REJECTED {@value #CODE}, saying which limit (rate or concurrency) and the tenant's
 * limit, and nothing about other tenants. Every valid request counts, cache hits included.
 *
 * <p>Enforced per task, each task admitting its {@link QuotaLimits#share share} of a tenant's
 * limits: requests are keyed by requestId on Kafka, so each task reads about 1/parallelism of every
 * tenant's requests. The rate is a token bucket per tenant ({@link TokenBuckets}); the concurrency
 * a ledger of the requests this task admitted and has not answered ({@link InFlightSlots}), freed
 * by the finish stage as it produces each response. Nothing here is checkpointed: after a restore
 * buckets start full and the ledger empty, so a restart costs at most one more burst per tenant and
 * never leaks a slot.
 */
public final class EnforceQuotas extends ProcessFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(EnforceQuotas.class);

  /** The error code of a request over its tenant's quota. */
  public static final String CODE = "quota.exceeded";

  /** Tenants whose buckets one task keeps; the least recently seen beyond are forgotten. */
  static final int MAX_TENANTS = 100_000;

  static final String RATE = "rate";
  static final String CONCURRENCY = "concurrency";

  private final TenantQuotas quotas;

  private transient int tasks;
  private transient String taskKey;
  private transient TokenBuckets buckets;
  private transient InFlightSlots slots;
  private transient Map<String, Counter> rejected;
  private transient Counter expired;
  private transient long expiredSeen;

  public EnforceQuotas(TenantQuotas quotas) {
    this.quotas = quotas;
  }

  @Override
  public void open(OpenContext openContext) {
    tasks = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    buckets = new TokenBuckets(MAX_TENANTS);
    if (quotas.enabled()) {
      taskKey = InFlightSlots.taskKey(getRuntimeContext());
      slots = InFlightSlots.register(taskKey);
      if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
        LOG.info("Tenant quotas over {} task(s): {}", tasks, quotas);
      }
    }
    // Every label from the start, at zero, quotas on or off: a panel or alert then sees 0, not a
    // missing series. Labels are the configured tenants and _other, never a client's value.
    MetricGroup metrics = getRuntimeContext().getMetricGroup().addGroup("quota");
    rejected = new HashMap<>();
    for (String label : quotas.metricLabels()) {
      for (String limit : new String[] {RATE, CONCURRENCY}) {
        rejected.put(
            label + '/' + limit,
            metrics.addGroup("tenant", label).addGroup("limit", limit).counter("rejected_total"));
      }
    }
    expired = metrics.counter("expired_total");
    InFlightSlots ledger = slots;
    metrics.gauge("inFlight", (Gauge<Integer>) () -> ledger == null ? 0 : ledger.held());
  }

  @Override
  public void processElement(
      InFlightRequest request, Context context, Collector<InFlightRequest> out) {
    if (slots == null) { // no quotas configured
      out.collect(request);
      return;
    }
    String tenant = request.getRequest().getTenantId();
    QuotaLimits limits = quotas.limitsFor(tenant);
    QuotaLimits.TaskShare share = limits.share(tasks);
    long now = context.timerService().currentProcessingTime();
    // Concurrency first: a request turned away for it keeps the tenant's token.
    if (share.maxConcurrent() > 0) {
      boolean room = slots.hasRoom(tenant, share.maxConcurrent(), now);
      countExpiries();
      if (!room) {
        reject(
            request,
            context,
            tenant,
            CONCURRENCY,
            "over this tenant's concurrency quota of "
                + limits.maxConcurrent()
                + " request"
                + (limits.maxConcurrent() == 1 ? "" : "s")
                + " in flight: retry once one of them has been answered");
        return;
      }
    }
    if (share.ratePerSecond() > 0
        && !buckets.tryTake(tenant, share.ratePerSecond(), share.bucketSize(), now)) {
      reject(
          request,
          context,
          tenant,
          RATE,
          "over this tenant's rate quota of " + limits.describeRate() + ": retry later");
      return;
    }
    if (share.maxConcurrent() > 0) {
      slots.hold(
          tenant,
          request.getRequest().getRequestId(),
          saturatedAdd(request.getDeadline(), InFlightSlots.GRACE_MILLIS),
          now);
    }
    out.collect(request);
  }

  private void reject(
      InFlightRequest request, Context context, String tenant, String limit, String message) {
    rejected.get(quotas.metricLabel(tenant) + '/' + limit).inc();
    context.output(
        Stages.FINISHED,
        Stages.fail(request, ResponseStatus.REJECTED, CODE, message, "quota", true));
  }

  private void countExpiries() {
    long now = slots.expired();
    if (now > expiredSeen) {
      expired.inc(now - expiredSeen);
      expiredSeen = now;
    }
  }

  /** Requests of tenants labelled {@code label} rejected for {@code limit}, for tests. */
  long rejected(String label, String limit) {
    return rejected.get(label + '/' + limit).getCount();
  }

  long expiredCount() {
    return expired.getCount();
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  @Override
  public void close() {
    if (slots != null) {
      InFlightSlots.unregister(taskKey, slots);
      slots = null;
    }
  }
}
