package dev.streamrag.jobs.batch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Collects elements into batches for a {@link BatchFunction}: a batch is flushed when it is full or
 * when its oldest element has waited the maximum time, whichever comes first. When elements arrive
 * sparsely (their average gap, an exponentially weighted mean, is at least the settings' idle gap),
 * an element that would start a batch is processed at once instead: at low rates the wait buys no
 * company, only latency, while under load batches still form.
 *
 * <p><b>Checkpoints.</b> The buffer is flushed in {@link #prepareSnapshotPreBarrier}, before the
 * barrier goes downstream, so a checkpoint never holds buffered elements and needs no state of its
 * own: every element before the barrier has been processed and emitted, every element after it is
 * replayed on restore. Nothing is lost or duplicated (the pattern of Flink's own bundle operators).
 * Watermarks and end of input flush as well, so buffered elements never fall behind a watermark and
 * the last partial batch is not dropped.
 *
 * <p><b>Metrics</b> (on the operator's group): {@code batchSize}, {@code batchWaitMillis} (age of
 * the oldest element at flush), {@code batchProcessMillis} (the function's time) histograms, and
 * counters {@code batchFailures} (batches the function threw on) and {@code elementFailures}
 * (elements that failed on their own too), and counters of flushes by cause: {@code flushesFull},
 * {@code flushesTimeout}, {@code flushesIdle}, {@code flushesBarrier} (checkpoints, watermarks, end
 * of input).
 */
public final class MicroBatchOperator<IN, OUT> extends AbstractStreamOperator<OUT>
    implements OneInputStreamOperator<IN, OUT> {
  private static final long serialVersionUID = 1L;
  private static final long NO_TIMESTAMP = Long.MIN_VALUE;

  /** Weight of the newest gap in the mean gap between arrivals. */
  private static final double GAP_WEIGHT = 0.3;

  private final BatchFunction<IN, OUT> function;
  private final BatchSettings settings;

  private transient List<IN> buffer;
  private transient long[] timestamps;
  private transient long oldestArrivalMillis;
  private transient ScheduledFuture<?> timer;
  private transient long batchNumber;
  private transient StreamRecord<OUT> reuse;
  private transient long lastArrivalMillis;
  private transient double meanGapMillis;

  private transient Histogram batchSize;
  private transient Histogram batchWaitMillis;
  private transient Histogram batchProcessMillis;
  private transient Counter flushesFull;
  private transient Counter flushesTimeout;
  private transient Counter flushesIdle;
  private transient Counter flushesBarrier;
  private transient Counter batchFailures;
  private transient Counter elementFailures;

  public MicroBatchOperator(BatchFunction<IN, OUT> function, BatchSettings settings) {
    this.function = function;
    this.settings = settings;
    // Chained to its neighbours: batching must not add a network hop of its own.
    setChainingStrategy(ChainingStrategy.ALWAYS);
  }

  @Override
  public void open() throws Exception {
    super.open();
    buffer = new ArrayList<>(settings.maxSize());
    timestamps = new long[settings.maxSize()];
    reuse = new StreamRecord<>(null);
    MetricGroup metrics = getMetricGroup();
    batchSize = metrics.histogram("batchSize", new DescriptiveStatisticsHistogram(1024));
    batchWaitMillis =
        metrics.histogram("batchWaitMillis", new DescriptiveStatisticsHistogram(1024));
    batchProcessMillis =
        metrics.histogram("batchProcessMillis", new DescriptiveStatisticsHistogram(1024));
    flushesFull = metrics.counter("flushesFull");
    flushesTimeout = metrics.counter("flushesTimeout");
    flushesIdle = metrics.counter("flushesIdle");
    lastArrivalMillis = Long.MIN_VALUE;
    meanGapMillis = Double.POSITIVE_INFINITY;
    flushesBarrier = metrics.counter("flushesBarrier");
    batchFailures = metrics.counter("batchFailures");
    elementFailures = metrics.counter("elementFailures");
    function.open(getRuntimeContext());
  }

  @Override
  public void processElement(StreamRecord<IN> element) throws Exception {
    long now = getProcessingTimeService().getCurrentProcessingTime();
    noteArrival(now);
    if (buffer.isEmpty()) {
      oldestArrivalMillis = now;
      if (sparse()) {
        timestamps[0] = element.hasTimestamp() ? element.getTimestamp() : NO_TIMESTAMP;
        buffer.add(element.getValue());
        flush();
        flushesIdle.inc();
        return;
      }
      if (settings.maxSize() > 1) {
        long batch = batchNumber;
        timer =
            getProcessingTimeService()
                .registerTimer(
                    oldestArrivalMillis + settings.maxWait().toMillis(), time -> onTimeout(batch));
      }
    }
    timestamps[buffer.size()] = element.hasTimestamp() ? element.getTimestamp() : NO_TIMESTAMP;
    buffer.add(element.getValue());
    if (buffer.size() >= settings.maxSize()) {
      flush();
      flushesFull.inc();
    }
  }

  private void noteArrival(long now) {
    if (lastArrivalMillis != Long.MIN_VALUE) {
      double gap = now - lastArrivalMillis;
      meanGapMillis =
          Double.isInfinite(meanGapMillis)
              ? gap
              : (1 - GAP_WEIGHT) * meanGapMillis + GAP_WEIGHT * gap;
    }
    lastArrivalMillis = now;
  }

  /** Elements come too far apart for a batch to find company within its wait. */
  private boolean sparse() {
    Duration idle = settings.idleGap();
    return idle != null && !idle.isZero() && meanGapMillis >= idle.toMillis();
  }

  /** The wait timer of batch {@code batch}; stale if that batch was already flushed. */
  private void onTimeout(long batch) throws Exception {
    if (batch == batchNumber && !buffer.isEmpty()) {
      flush();
      flushesTimeout.inc();
    }
  }

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    flushOnBarrier();
    super.processWatermark(mark);
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    flushOnBarrier();
    super.prepareSnapshotPreBarrier(checkpointId);
  }

  @Override
  public void finish() throws Exception {
    flushOnBarrier();
    super.finish();
  }

  /**
   * The function's results for {@code batch}. When the batch throws, each element is tried alone,
   * so one poisonous element fails only itself; an element that fails alone too gets the function's
   * {@link BatchFunction#failed} result (by default the error, failing the task).
   */
  private List<OUT> process(List<IN> batch) throws Exception {
    try {
      return function.apply(batch);
    } catch (Exception batchError) {
      batchFailures.inc();
      List<OUT> results = new ArrayList<>(batch.size());
      for (IN element : batch) {
        results.add(processAlone(element, batch.size() == 1 ? batchError : null));
      }
      return results;
    }
  }

  private OUT processAlone(IN element, Exception knownError) throws Exception {
    Exception error = knownError;
    if (error == null) {
      try {
        List<OUT> alone = function.apply(List.of(element));
        if (alone.size() == 1) {
          return alone.get(0);
        }
        error = new IllegalStateException("returned " + alone.size() + " results for one element");
      } catch (Exception e) {
        error = e;
      }
    }
    elementFailures.inc();
    return function.failed(element, error);
  }

  private void flushOnBarrier() throws Exception {
    if (!buffer.isEmpty()) {
      flush();
      flushesBarrier.inc();
    }
  }

  private void flush() throws Exception {
    batchNumber++;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    long started = getProcessingTimeService().getCurrentProcessingTime();
    List<IN> batch = List.copyOf(buffer);
    buffer.clear();
    List<OUT> results = process(batch);
    if (results.size() != batch.size()) {
      throw new IllegalStateException(
          function.getClass().getName()
              + " returned "
              + results.size()
              + " results for a batch of "
              + batch.size());
    }
    long finished = getProcessingTimeService().getCurrentProcessingTime();
    batchSize.update(batch.size());
    batchWaitMillis.update(started - oldestArrivalMillis);
    batchProcessMillis.update(finished - started);
    for (int i = 0; i < results.size(); i++) {
      if (timestamps[i] == NO_TIMESTAMP) {
        reuse.eraseTimestamp();
        output.collect(reuse.replace(results.get(i)));
      } else {
        output.collect(reuse.replace(results.get(i), timestamps[i]));
      }
    }
  }

  @Override
  public void close() throws Exception {
    try {
      function.close();
    } finally {
      super.close();
    }
  }
}
