package dev.streamrag.devstack;

import java.io.PrintStream;
import java.time.Duration;

/** A one-line progress bar over a run's duration, redrawn in place. */
final class ProgressBar {
  private static final int WIDTH = 40;
  private final PrintStream out;
  private final Duration total;
  private final long started = System.nanoTime();

  ProgressBar(PrintStream out, Duration total) {
    this.out = out;
    this.total = total;
  }

  Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - started);
  }

  void show(String detail) {
    double share = Math.min(1.0, (double) elapsed().toMillis() / Math.max(1, total.toMillis()));
    int filled = (int) Math.round(share * WIDTH);
    out.printf(
        "\r[%s%s] %3d%% %d/%d s  %s",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        Math.round(share * 100),
        elapsed().toSeconds(),
        total.toSeconds(),
        detail);
    out.flush();
  }

  void done() {
    out.println();
  }
}
