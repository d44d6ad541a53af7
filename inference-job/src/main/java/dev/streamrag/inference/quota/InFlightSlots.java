package dev.streamrag.inference.quota;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.functions.RuntimeContext;

/**
 * The requests one task has admitted under a concurrency quota and not yet answered, per tenant.
 * The quota stage ({@link EnforceQuotas}) holds a slot when it admits a request; the finish stage
 * frees it as it produces the request's response ({@link #release(String, String, String)}),
 * whatever the response is. The two run in different task threads of the same subtask index: every
 * edge between them is a forward edge, and Flink places a subtask's forward-connected operators in
 * one slot, so they meet here through a registry of this TaskManager, keyed by job, subtask and
 * parallelism.
 *
 * <p>Each slot also expires at its request's deadline plus {@link #GRACE_MILLIS} (the job answers a
 * request at its deadline at the latest), so a release that never comes (the stages placed apart, a
 * bug) holds a slot for a while, never forever; such expiries are counted.
 *
 * <p>Never checkpointed: a task that (re)starts registers an empty ledger. Requests replayed from
 * Kafka are admitted again; those restored inside the Async I/O operators are not counted until
 * they finish (their release is then a no-op), so just after a restore a tenant may briefly have
 * more in flight than its limit, and no slot outlives a restart.
 */
public final class InFlightSlots {
  /** How long past its deadline a request's slot is kept if its response does not free it. */
  public static final long GRACE_MILLIS = 10_000;

  private static final Map<String, InFlightSlots> TASKS = new ConcurrentHashMap<>();

  private final Map<String, Tenant> tenants = new HashMap<>();
  private int held;
  private long expired;
  private long holds;

  /** Every this many holds, every tenant's overdue slots are expired. */
  static final int SWEEP_EVERY = 1024;

  /** Where a task's ledger is found: the job, the subtask index and the parallelism. */
  public static String taskKey(RuntimeContext context) {
    return context.getJobInfo().getJobId()
        + "/"
        + context.getTaskInfo().getIndexOfThisSubtask()
        + "/"
        + context.getTaskInfo().getNumberOfParallelSubtasks();
  }

  /** A new, empty ledger for the task {@code key}, replacing any earlier one (a restart). */
  static InFlightSlots register(String key) {
    InFlightSlots slots = new InFlightSlots();
    TASKS.put(key, slots);
    return slots;
  }

  /** Forgets {@code slots} if it is still the task's ledger. */
  static void unregister(String key, InFlightSlots slots) {
    TASKS.remove(key, slots);
  }

  /**
   * Frees the slot {@code tenant}'s {@code requestId} holds on the task {@code key}, if it holds
   * one: a no-op for requests admitted without a concurrency limit, rejected, or admitted before a
   * restart.
   */
  public static void release(String key, String tenant, String requestId) {
    InFlightSlots slots = TASKS.get(key);
    if (slots != null && tenant != null && requestId != null) {
      slots.release(tenant, requestId);
    }
  }

  /** Whether {@code tenant} holds fewer than {@code max} slots, after expiring overdue ones. */
  synchronized boolean hasRoom(String tenant, int max, long nowMillis) {
    Tenant t = tenants.get(tenant);
    if (t == null) {
      return max > 0;
    }
    if (nowMillis >= t.earliest) {
      expire(tenant, t, nowMillis);
    }
    return t.expiries.size() < max;
  }

  /** Holds a slot for {@code requestId} until it is released or {@code expiresAtMillis}. */
  synchronized void hold(String tenant, String requestId, long expiresAtMillis, long nowMillis) {
    if (++holds % SWEEP_EVERY == 0) {
      // Tenants that went quiet are otherwise only swept when they send again.
      for (String other : tenants.keySet().toArray(new String[0])) {
        Tenant t = tenants.get(other);
        if (nowMillis >= t.earliest) {
          expire(other, t, nowMillis);
        }
      }
    }
    Tenant t = tenants.computeIfAbsent(tenant, k -> new Tenant());
    if (t.expiries.put(requestId, expiresAtMillis) == null) {
      held++;
    }
    t.earliest = Math.min(t.earliest, expiresAtMillis);
  }

  synchronized boolean release(String tenant, String requestId) {
    Tenant t = tenants.get(tenant);
    if (t == null || t.expiries.remove(requestId) == null) {
      return false;
    }
    held--;
    if (t.expiries.isEmpty()) {
      tenants.remove(tenant);
    }
    return true;
  }

  /** Slots held over every tenant. */
  synchronized int held() {
    return held;
  }

  synchronized int held(String tenant) {
    Tenant t = tenants.get(tenant);
    return t == null ? 0 : t.expiries.size();
  }

  /** Slots freed by their expiry instead of their response, since this ledger began. */
  synchronized long expired() {
    return expired;
  }

  private void expire(String tenant, Tenant t, long nowMillis) {
    long earliest = Long.MAX_VALUE;
    for (Iterator<Long> it = t.expiries.values().iterator(); it.hasNext(); ) {
      long expiresAt = it.next();
      if (expiresAt <= nowMillis) {
        it.remove();
        held--;
        expired++;
      } else {
        earliest = Math.min(earliest, expiresAt);
      }
    }
    t.earliest = earliest;
    if (t.expiries.isEmpty()) {
      tenants.remove(tenant);
    }
  }

  /**
   * One tenant's held slots: requestId → expiry, and the earliest expiry (a sweep before it is
   * idle).
   */
  private static final class Tenant {
    final Map<String, Long> expiries = new HashMap<>();
    long earliest = Long.MAX_VALUE;
  }
}
