package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.ingest.embed.FailureIsolatingEmbedding;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.jobs.retrieve.OpenSearchAccessException;
import dev.streamrag.schemas.DeadLetter;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes chunk actions to the index in bulk requests and reports every document version once: as
 * indexed (nothing is emitted), or as one dead letter with the reason. Replaces Flink's OpenSearch
 * sink, whose writer fails the task on any rejected action or refused request and cannot send a
 * rejected document anywhere (a sink has no output).
 *
 * <ul>
 *   <li>An action OpenSearch refuses for itself with a 4xx (a mapping error, an id too long): its
 *       document is dead-lettered as {@code index.rejected}; the job goes on.
 *   <li>A request refused as too large (413): split in halves and retried; a single action that is
 *       still too large is {@code index.too_large}.
 *   <li>A 429 or 5xx, for an action or the whole request, no connection, or an answer that cannot
 *       be read: retried after a growing pause until the flush's deadline, then the task fails. An
 *       overloaded or broken cluster is lost infrastructure, not a bad record: dead-lettering would
 *       throw away good documents, while a restart replays them (chunk ids are deterministic).
 *   <li>Anything that says the index cannot be written at all (any other refused request, an action
 *       answered 401/403/404, a cluster block, a closed or missing index, a certificate the
 *       endpoint does not trust): the task fails at once. That is configuration, and would
 *       otherwise dead-letter every document.
 *   <li>A chunk an earlier step failed on ({@code embedding.failed}) is not written.
 * </ul>
 *
 * When a version fails, every chunk id it covers (its chunks, and the previous version's surplus
 * ones it deletes) is deleted, so the document is cleanly absent and dead-lettered, never partly
 * indexed; the chunking step's state (the new chunk count) then matches the index, whose chunks
 * beyond it the version's own deletes removed. Ids a newer version of the same document has already
 * buffered or written are left alone. A rollback that cannot be completed fails the task rather
 * than leave the document both dead-lettered and indexed.
 *
 * <p><b>Checkpoints.</b> Like {@code MicroBatchOperator}, the buffer is written in {@link
 * #prepareSnapshotPreBarrier}, so the writer needs no state: at least once, and chunk ids are
 * deterministic, so a replay overwrites itself. A version's actions are emitted together by one
 * call of the chunking step and reach this operator in order, so a barrier never falls inside a
 * version and no version is half reported at a checkpoint. Each flush (retries, splits, rollbacks
 * included) ends within {@link IndexWriteSettings#flushTimeout}, so it cannot hold a checkpoint
 * past its timeout.
 *
 * <p><b>Metrics</b> (group {@code index}): {@code bulk_requests_total}, {@code retries_total},
 * {@code rejected_actions_total}, {@code dead_letters_total}, {@code rolled_back_chunks_total}.
 */
public final class ChunkIndexWriter extends AbstractStreamOperator<DeadLetter>
    implements OneInputStreamOperator<ChunkAction, DeadLetter> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ChunkIndexWriter.class);

  public static final String REJECTED = "index.rejected";
  public static final String TOO_LARGE = "index.too_large";

  private final BulkTransport.Factory transportFactory;
  private final IndexWriteSettings settings;
  private final String job;

  private transient BulkTransport transport;
  private transient List<ChunkAction> buffer;
  private transient Map<Long, Version> versions;
  private transient Map<String, Version> newest;
  private transient ScheduledFuture<?> timer;
  private transient long flushNumber;
  private transient StreamRecord<DeadLetter> reuse;

  private transient Counter bulkRequests;
  private transient Counter retries;
  private transient Counter rejectedActions;
  private transient Counter deadLetters;
  private transient Counter rolledBack;

  public ChunkIndexWriter(
      BulkTransport.Factory transportFactory, IndexWriteSettings settings, String job) {
    this.transportFactory = transportFactory;
    this.settings = settings;
    this.job = job;
    setChainingStrategy(ChainingStrategy.ALWAYS);
  }

  /** One document version in flight: how much of it was seen, which ids, and its first failure. */
  private static final class Version {
    final String tenantId;
    final String docId;
    final String key;
    final int size;
    byte[] document;
    int seen;

    /** Every chunk id of the version: what a rollback deletes. */
    final Set<String> ids = new LinkedHashSet<>();

    /** The UPSERTs buffered (sent or about to be): what an older version's rollback must spare. */
    final Set<String> upserts = new HashSet<>();

    String failureCode;
    String failureReason;

    Version(ChunkAction first) {
      this.tenantId = first.tenantId;
      this.docId = first.docId;
      this.key = ChunkAction.documentKey(first.tenantId, first.docId);
      this.size = Math.max(1, first.groupSize);
    }

    void fail(ChunkAction action, String code, String reason) {
      if (failureCode == null) {
        failureCode = code;
        failureReason = "chunk " + action.chunkIndex + ": " + reason;
      }
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    buffer = new ArrayList<>(settings.maxActions());
    versions = new LinkedHashMap<>();
    newest = new HashMap<>();
    reuse = new StreamRecord<>(null);
    MetricGroup metrics = getMetricGroup().addGroup("index");
    bulkRequests = metrics.counter("bulk_requests_total");
    retries = metrics.counter("retries_total");
    rejectedActions = metrics.counter("rejected_actions_total");
    deadLetters = metrics.counter("dead_letters_total");
    rolledBack = metrics.counter("rolled_back_chunks_total");
    transport = transportFactory.open();
  }

  @Override
  public void processElement(StreamRecord<ChunkAction> element) throws Exception {
    ChunkAction action = element.getValue();
    Version version =
        versions.computeIfAbsent(
            action.group,
            g -> {
              Version first = new Version(action);
              newest.put(first.key, first);
              return first;
            });
    version.ids.add(action.chunkId);
    if (action.document != null) {
      version.document = action.document;
      action.document = null; // kept once, in the version
    }
    if (action.failureCode == null
        && action.kind == ChunkAction.Kind.UPSERT
        && action.vector == null) {
      action.fail(
          FailureIsolatingEmbedding.FAILED, "chunk " + action.chunkIndex + " has no vector");
    }
    if (action.failureCode != null) {
      version.fail(action, action.failureCode, action.failureReason);
    }
    if (action.kind == ChunkAction.Kind.UPSERT && version.failureCode != null) {
      // Failed upstream, or its version already failed: writing it would only be undone. (DELETEs
      // are always written: they remove the previous version's surplus chunks, which the
      // chunking step no longer counts.) Older buffered actions go first, so this version's
      // rollback, if this completes it, runs after every older version of the document is written.
      if (!buffer.isEmpty()) {
        flush();
      }
      settle(action, version, null, null, deadline());
      return;
    }
    if (action.kind == ChunkAction.Kind.UPSERT) {
      version.upserts.add(action.chunkId);
    }
    if (buffer.isEmpty() && settings.maxActions() > 1) {
      long flush = flushNumber;
      long now = getProcessingTimeService().getCurrentProcessingTime();
      timer =
          getProcessingTimeService()
              .registerTimer(now + settings.maxWait().toMillis(), time -> onTimeout(flush));
    }
    buffer.add(action);
    if (buffer.size() >= settings.maxActions()) {
      flush();
    }
  }

  private void onTimeout(long flush) throws Exception {
    if (flush == flushNumber && !buffer.isEmpty()) {
      flush();
    }
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    flush();
    if (!versions.isEmpty()) {
      LOG.warn(
          "{} document versions are partly written at checkpoint {}; their actions did not arrive"
              + " together (is the stream between chunking and indexing rebalanced?)",
          versions.size(),
          checkpointId);
    }
    super.prepareSnapshotPreBarrier(checkpointId);
  }

  @Override
  public void finish() throws Exception {
    flush();
    super.finish();
  }

  /** When what starts now must be done: retries, splits and rollbacks share it. */
  private long deadline() {
    return System.nanoTime() + settings.flushTimeout().toNanos();
  }

  private void flush() throws Exception {
    flushNumber++;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (buffer.isEmpty()) {
      return;
    }
    long deadline = deadline();
    List<ChunkAction> batch = List.copyOf(buffer);
    buffer.clear();
    Outcome[] outcomes = write(batch, deadline);
    for (int i = 0; i < batch.size(); i++) {
      ChunkAction action = batch.get(i);
      Version version = versions.get(action.group);
      if (outcomes[i] == null) {
        settle(action, version, null, null, deadline);
      } else {
        settle(action, version, outcomes[i].code, outcomes[i].reason, deadline);
      }
    }
  }

  /** Counts an action of {@code version} as done; reports the version when it is complete. */
  private void settle(
      ChunkAction action, Version version, String code, String reason, long deadline)
      throws IOException {
    if (code != null) {
      version.fail(action, code, reason);
    }
    version.seen++;
    if (version.seen < version.size) {
      return;
    }
    versions.remove(action.group);
    newest.remove(version.key, version);
    if (version.failureCode == null) {
      return;
    }
    int removed = rollBack(version, deadline);
    deadLetters.inc();
    reuse.eraseTimestamp();
    output.collect(
        reuse.replace(
            DeadLetters.rejected(
                version.failureCode,
                version.failureReason
                    + (removed > 0
                        ? "; its " + removed + " chunk ids were deleted, so none of it is indexed"
                        : ""),
                version.failureCode.startsWith("embedding.") ? "embed" : "index",
                job,
                version.document == null ? new byte[0] : version.document,
                version.docId,
                version.tenantId,
                Instant.now())));
  }

  /**
   * Deletes every chunk id of a failed version (also those it never wrote: they may hold the
   * previous version's chunks), except ids a newer version of the document has buffered or written:
   * those chunks are the newer version's. Returns how many were deleted; throws when a delete is
   * refused, or OpenSearch fails until the deadline.
   */
  private int rollBack(Version version, long deadline) throws IOException {
    // Older versions of the document are settled by now (actions settle in arrival order), so any
    // version of it still in flight is newer.
    Version newer = newest.get(version.key);
    List<ChunkAction> deletes = new ArrayList<>(version.ids.size());
    for (String chunkId : version.ids) {
      if (newer != null && newer.upserts.contains(chunkId)) {
        continue;
      }
      ChunkAction delete = new ChunkAction();
      delete.kind = ChunkAction.Kind.DELETE;
      delete.tenantId = version.tenantId;
      delete.docId = version.docId;
      delete.chunkId = chunkId;
      deletes.add(delete);
    }
    for (int from = 0; from < deletes.size(); from += settings.maxActions()) {
      List<ChunkAction> part =
          deletes.subList(from, Math.min(deletes.size(), from + settings.maxActions()));
      Outcome[] outcomes = write(part, deadline);
      for (int i = 0; i < outcomes.length; i++) {
        if (outcomes[i] != null) {
          // Going on would leave the document dead-lettered and partly indexed: two outcomes.
          // A restart replays the version and tries again.
          throw new IOException(
              "could not remove chunk "
                  + part.get(i).chunkId
                  + " of failed document "
                  + version.docId
                  + ": "
                  + outcomes[i].reason);
        }
      }
    }
    rolledBack.inc(deletes.size());
    return deletes.size();
  }

  /** Why an action was not written: a dead-letter reason code and the reason. */
  record Outcome(String code, String reason) {}

  /**
   * Writes {@code actions}; null outcomes are written, the others were refused for themselves (the
   * document's fault). Retries 429s, 5xx and failures to reach OpenSearch until {@code deadline}
   * ({@link System#nanoTime}), splits requests refused as too large; throws when the deadline runs
   * out or the index cannot be written at all.
   */
  Outcome[] write(List<ChunkAction> actions, long deadline) throws IOException {
    Outcome[] outcomes = new Outcome[actions.size()];
    List<Integer> pending = new ArrayList<>(actions.size());
    for (int i = 0; i < actions.size(); i++) {
      pending.add(i);
    }
    for (int attempt = 1; ; attempt++) {
      List<ChunkAction> sent = new ArrayList<>(pending.size());
      pending.forEach(i -> sent.add(actions.get(i)));
      List<Integer> again = new ArrayList<>();
      String retryWhy = null;
      String unusable = null; // the index cannot be written at all: configuration
      try {
        bulkRequests.inc();
        List<BulkTransport.ItemResult> results = transport.send(sent, remaining(deadline));
        if (results.size() != sent.size()) {
          throw new IOException(
              "OpenSearch answered " + results.size() + " results for " + sent.size() + " actions");
        }
        for (int k = 0; k < results.size(); k++) {
          BulkTransport.ItemResult result = results.get(k);
          int index = pending.get(k);
          String why = "status " + result.status() + ": " + result.error();
          if (result.ok()) {
            outcomes[index] = null;
          } else if (unusableIndex(result)) {
            unusable =
                "OpenSearch cannot write chunk "
                    + sent.get(k).chunkId
                    + ", "
                    + why
                    + (result.status() == 401 || result.status() == 403
                        ? " (check opensearch.username and its role's permissions on the index)"
                        : "");
          } else if (result.status() == 429 || result.status() >= 500) {
            again.add(index);
            retryWhy = "OpenSearch answered chunk " + sent.get(k).chunkId + " " + why;
          } else {
            rejectedActions.inc();
            outcomes[index] =
                new Outcome(
                    result.status() == 413 ? TOO_LARGE : REJECTED, "OpenSearch refused it, " + why);
          }
        }
      } catch (BulkTransport.RequestFailed e) {
        int status = e.status();
        if (status == 413 && pending.size() > 1) {
          // Too large: halve until it fits, or the action too large alone is found.
          Outcome[] first = write(sent.subList(0, sent.size() / 2), deadline);
          Outcome[] second = write(sent.subList(sent.size() / 2, sent.size()), deadline);
          for (int k = 0; k < sent.size(); k++) {
            outcomes[pending.get(k)] = k < first.length ? first[k] : second[k - first.length];
          }
          return outcomes;
        } else if (status == 413) {
          rejectedActions.inc();
          outcomes[pending.get(0)] = new Outcome(TOO_LARGE, e.getMessage());
        } else if (status == 429 || status >= 500) {
          again.addAll(pending);
          retryWhy = e.getMessage();
        } else {
          // We build every request ourselves, so another refusal of a whole request (401, 403,
          // 404, 400) is configuration: failing beats dead-lettering every document.
          throw new IOException(
              "OpenSearch refused a whole bulk request; check the index and its permissions: "
                  + e.getMessage(),
              e);
        }
      } catch (OpenSearchAccessException e) {
        // An untrusted certificate: configuration, like a refused login.
        throw new IOException("OpenSearch cannot be written: " + e.getMessage(), e);
      } catch (IOException | RuntimeException e) {
        // No connection, a timeout, or an answer that is not OpenSearch's (a proxy's HTML page):
        // the cluster is unavailable, not the record bad.
        again.addAll(pending);
        retryWhy = "OpenSearch unreachable or its answer unreadable: " + e;
      }
      if (unusable != null) {
        throw new IOException(unusable);
      }
      if (again.isEmpty()) {
        return outcomes;
      }
      long pause = settings.backoffMillis(attempt, ThreadLocalRandom.current().nextDouble());
      if (deadline - System.nanoTime() <= TimeUnit.MILLISECONDS.toNanos(pause)) {
        // Still overloaded or down: fail, and let Flink restart and replay. Dead-lettering would
        // lose documents that are fine.
        throw new IOException(
            "OpenSearch still failing after "
                + attempt
                + " tries, when the flush's "
                + settings.flushTimeout()
                + " (ingest.index-flush-timeout) ran out: "
                + retryWhy);
      }
      retries.inc(again.size());
      pause(pause);
      pending = again;
    }
  }

  /**
   * Whether a refused action says the index cannot be written at all (permissions, a cluster or
   * index block, a missing or closed index), rather than that this action is bad.
   */
  static boolean unusableIndex(BulkTransport.ItemResult result) {
    String error = result.error() == null ? "" : result.error();
    return result.status() == 401
        || result.status() == 403
        || result.status() == 404
        || error.contains("cluster_block_exception")
        || error.contains("index_not_found_exception")
        || error.contains("index_closed_exception");
  }

  /** What is left until {@code deadline}; throws when nothing is. */
  private Duration remaining(long deadline) throws IOException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new IOException(
          "the flush's " + settings.flushTimeout() + " (ingest.index-flush-timeout) ran out");
    }
    return Duration.ofNanos(left);
  }

  private static void pause(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while backing off", e);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      if (transport != null) {
        transport.close();
      }
    } finally {
      super.close();
    }
  }

  /** For tests: the document versions not yet complete. */
  int versionsInFlight() {
    return versions.size();
  }
}
