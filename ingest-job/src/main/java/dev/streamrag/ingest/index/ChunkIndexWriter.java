package dev.streamrag.ingest.index;

import dev.streamrag.ingest.ChunkAction;
import dev.streamrag.ingest.embed.FailureIsolatingEmbedding;
import dev.streamrag.jobs.kafka.DeadLetters;
import dev.streamrag.schemas.DeadLetter;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
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
 *   <li>An action OpenSearch refuses with a 4xx (a mapping error, an id too long): its document is
 *       dead-lettered as {@code index.rejected}; the job goes on.
 *   <li>A 429 (es_rejected_execution, indexing pressure) or 5xx, for an action or the whole
 *       request: retried after a growing pause, at most {@code retries} times. Actions still
 *       answered 429 after that are dead-lettered as {@code index.overloaded}, still answered 5xx
 *       as {@code index.failed}: a record OpenSearch will never take must not stop the job. A whole
 *       request still answered 5xx, or no connection, fails the task: that is lost infrastructure,
 *       and Flink's restart strategy and replay are the answer.
 *   <li>A request refused as too large (413): split in halves and retried; a single action that is
 *       still too large is {@code index.too_large}.
 *   <li>A chunk an earlier step failed on ({@code embedding.failed}) is not written.
 * </ul>
 *
 * When a version fails, the chunks of it already written are deleted again, so a document is either
 * indexed whole or dead-lettered; what the previous version had in those ids is gone too (it was
 * being replaced). Its state in the chunking step still counts the new chunks, so a later update or
 * delete covers every id.
 *
 * <p><b>Checkpoints.</b> Like {@code MicroBatchOperator}, the buffer is written in {@link
 * #prepareSnapshotPreBarrier}, so the writer needs no state: at least once, and chunk ids are
 * deterministic, so a replay overwrites itself. A version's actions are emitted together by one
 * call of the chunking step and reach this operator in order, so a barrier never falls inside a
 * version and no version is half reported at a checkpoint.
 *
 * <p><b>Metrics</b> (group {@code index}): {@code bulk_requests_total}, {@code retries_total},
 * {@code rejected_actions_total}, {@code dead_letters_total}, {@code rolled_back_chunks_total}.
 */
public final class ChunkIndexWriter extends AbstractStreamOperator<DeadLetter>
    implements OneInputStreamOperator<ChunkAction, DeadLetter> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ChunkIndexWriter.class);

  public static final String REJECTED = "index.rejected";
  public static final String OVERLOADED = "index.overloaded";
  public static final String TOO_LARGE = "index.too_large";
  public static final String FAILED = "index.failed";

  private final BulkTransport.Factory transportFactory;
  private final IndexWriteSettings settings;
  private final String job;

  private transient BulkTransport transport;
  private transient List<ChunkAction> buffer;
  private transient Map<Long, Version> versions;
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

  /** One document version in flight: how much of it was seen, written, and its first failure. */
  private static final class Version {
    final String tenantId;
    final String docId;
    final int size;
    byte[] document;
    int seen;
    final List<String> written = new ArrayList<>();
    String failureCode;
    String failureReason;

    Version(ChunkAction first) {
      this.tenantId = first.tenantId;
      this.docId = first.docId;
      this.size = Math.max(1, first.groupSize);
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    buffer = new ArrayList<>(settings.maxActions());
    versions = new LinkedHashMap<>();
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
    Version version = versions.computeIfAbsent(action.group, g -> new Version(action));
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
    if (action.failureCode != null || version.failureCode != null) {
      // Failed upstream, or its version already failed: writing it would only be undone.
      settle(action, version, action.failureCode, action.failureReason);
      return;
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

  private void flush() throws Exception {
    flushNumber++;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (buffer.isEmpty()) {
      return;
    }
    List<ChunkAction> batch = List.copyOf(buffer);
    buffer.clear();
    Outcome[] outcomes = write(batch);
    for (int i = 0; i < batch.size(); i++) {
      ChunkAction action = batch.get(i);
      Version version = versions.get(action.group);
      if (outcomes[i] == null) {
        if (action.kind == ChunkAction.Kind.UPSERT) {
          version.written.add(action.chunkId);
        }
        settle(action, version, null, null);
      } else {
        settle(action, version, outcomes[i].code, outcomes[i].reason);
      }
    }
  }

  /** Counts an action of {@code version} as done; reports the version when it is complete. */
  private void settle(ChunkAction action, Version version, String code, String reason)
      throws IOException {
    if (code != null && version.failureCode == null) {
      version.failureCode = code;
      version.failureReason = "chunk " + action.chunkIndex + ": " + reason;
    }
    version.seen++;
    if (version.seen < version.size) {
      return;
    }
    versions.remove(action.group);
    if (version.failureCode == null) {
      return;
    }
    int removed = rollBack(version);
    deadLetters.inc();
    reuse.eraseTimestamp();
    output.collect(
        reuse.replace(
            DeadLetters.rejected(
                version.failureCode,
                version.failureReason
                    + (removed > 0
                        ? "; the "
                            + removed
                            + " chunks of this version already written were removed"
                        : ""),
                version.failureCode.startsWith("embedding.") ? "embed" : "index",
                job,
                version.document == null ? new byte[0] : version.document,
                version.docId,
                version.tenantId,
                Instant.now())));
  }

  /** Deletes what a failed version had written; returns how many. */
  private int rollBack(Version version) throws IOException {
    if (version.written.isEmpty()) {
      return 0;
    }
    List<ChunkAction> deletes = new ArrayList<>(version.written.size());
    for (String chunkId : version.written) {
      ChunkAction delete = new ChunkAction();
      delete.kind = ChunkAction.Kind.DELETE;
      delete.chunkId = chunkId;
      deletes.add(delete);
    }
    for (int from = 0; from < deletes.size(); from += settings.maxActions()) {
      List<ChunkAction> part =
          deletes.subList(from, Math.min(deletes.size(), from + settings.maxActions()));
      Outcome[] outcomes = write(part);
      for (int i = 0; i < outcomes.length; i++) {
        if (outcomes[i] != null) {
          LOG.warn("could not remove chunk {}: {}", part.get(i).chunkId, outcomes[i].reason);
        }
      }
    }
    rolledBack.inc(deletes.size());
    return deletes.size();
  }

  /** Why an action was not written: a dead-letter reason code and the reason. */
  record Outcome(String code, String reason) {}

  /**
   * Writes {@code actions}; null outcomes are written. Retries 429s and 5xx, splits requests that
   * are refused whole; throws when OpenSearch stays unreachable or answers every request with 5xx.
   */
  Outcome[] write(List<ChunkAction> actions) throws IOException {
    Outcome[] outcomes = new Outcome[actions.size()];
    List<Integer> pending = new ArrayList<>(actions.size());
    for (int i = 0; i < actions.size(); i++) {
      pending.add(i);
    }
    for (int attempt = 0; ; attempt++) {
      List<ChunkAction> sent = new ArrayList<>(pending.size());
      pending.forEach(i -> sent.add(actions.get(i)));
      // Retryable ones, with the outcome each gets if the retries run out.
      Map<Integer, Outcome> again = new LinkedHashMap<>();
      String unavailable = null; // the whole request failed for want of a working cluster
      try {
        bulkRequests.inc();
        List<BulkTransport.ItemResult> results = transport.send(sent);
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
          } else if (result.status() == 429) {
            again.put(index, new Outcome(OVERLOADED, "OpenSearch too busy, " + why));
          } else if (result.status() >= 500) {
            again.put(index, new Outcome(FAILED, "OpenSearch failed on it, " + why));
          } else {
            rejectedActions.inc();
            outcomes[index] =
                new Outcome(
                    result.status() == 413 ? TOO_LARGE : REJECTED, "OpenSearch refused it, " + why);
          }
        }
      } catch (BulkTransport.RequestFailed e) {
        int status = e.status();
        if (status == 401 || status == 403) {
          throw e; // credentials or permissions: configuration, not data
        }
        if (status == 429) {
          for (int index : pending) {
            again.put(index, new Outcome(OVERLOADED, "OpenSearch too busy: " + e.getMessage()));
          }
        } else if (status >= 500) {
          pending.forEach(index -> again.put(index, null));
          unavailable = e.getMessage();
        } else if (pending.size() > 1) {
          // Too large, or refused whole for one bad action: halve until the culprit is alone.
          Outcome[] first = write(sent.subList(0, sent.size() / 2));
          Outcome[] second = write(sent.subList(sent.size() / 2, sent.size()));
          for (int k = 0; k < sent.size(); k++) {
            outcomes[pending.get(k)] = k < first.length ? first[k] : second[k - first.length];
          }
          return outcomes;
        } else {
          rejectedActions.inc();
          outcomes[pending.get(0)] =
              new Outcome(status == 413 ? TOO_LARGE : REJECTED, e.getMessage());
        }
      } catch (IOException e) {
        pending.forEach(index -> again.put(index, null));
        unavailable = "OpenSearch unreachable: " + e;
      }
      if (again.isEmpty()) {
        return outcomes;
      }
      if (attempt >= settings.retries()) {
        if (unavailable != null) {
          // Lost infrastructure, not a bad record: fail, and let Flink restart and replay.
          throw new IOException(
              "OpenSearch still failing after " + settings.retries() + " retries: " + unavailable);
        }
        for (Map.Entry<Integer, Outcome> entry : again.entrySet()) {
          Outcome last = entry.getValue();
          outcomes[entry.getKey()] =
              new Outcome(
                  last.code(), last.reason() + " (after " + settings.retries() + " retries)");
        }
        return outcomes;
      }
      retries.inc(again.size());
      pause(settings.backoffMillis(attempt + 1, ThreadLocalRandom.current().nextDouble()));
      pending = new ArrayList<>(again.keySet());
    }
  }

  private static boolean retryable(int status) {
    return status == 429 || status >= 500;
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
