package dev.streamrag.inference.pieces;

import dev.streamrag.jobs.pieces.PieceMetrics;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;

/**
 * A stage's piece counters in Flink's metrics (group {@code pieces}): sent, failed, undeliverable,
 * bytes, DELTA pieces against the tokens they held (whose ratio is the coalescing factor), answers
 * sent again after a lost piece, and answers given up on. They are updated from producer and HTTP
 * client threads, hence the thread-safe counters.
 */
public final class PieceCounters implements PieceMetrics {
  private final Counter sent;
  private final Counter failed;
  private final Counter undeliverable;
  private final Counter bytes;
  private final Counter deltas;
  private final Counter deltaTokens;
  private final Counter repairs;
  private final Counter gaveUp;

  public PieceCounters(MetricGroup parent) {
    MetricGroup group = parent.addGroup("pieces");
    sent = group.counter("sent_total", new ThreadSafeSimpleCounter());
    failed = group.counter("failed_total", new ThreadSafeSimpleCounter());
    undeliverable = group.counter("undeliverable_total", new ThreadSafeSimpleCounter());
    bytes = group.counter("sent_bytes_total", new ThreadSafeSimpleCounter());
    deltas = group.counter("deltas_total", new ThreadSafeSimpleCounter());
    deltaTokens = group.counter("delta_tokens_total", new ThreadSafeSimpleCounter());
    repairs = group.counter("repairs_total", new ThreadSafeSimpleCounter());
    gaveUp = group.counter("gave_up_total", new ThreadSafeSimpleCounter());
  }

  @Override
  public void sent(int size) {
    sent.inc();
    bytes.inc(size);
  }

  @Override
  public void failed() {
    failed.inc();
  }

  @Override
  public void undeliverable() {
    undeliverable.inc();
  }

  @Override
  public void delta(int tokens) {
    deltas.inc();
    deltaTokens.inc(tokens);
  }

  @Override
  public void repaired() {
    repairs.inc();
  }

  @Override
  public void gaveUp() {
    gaveUp.inc();
  }
}
