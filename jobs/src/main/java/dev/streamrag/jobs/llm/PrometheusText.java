package dev.streamrag.jobs.llm;

/**
 * Reads sample values from the Prometheus text exposition format ({@code /metrics}) of vLLM and
 * llm-sim, without a client library: the one parser for load-aware routing, tests and benchmarks.
 */
public final class PrometheusText {
  private PrometheusText() {}

  /**
   * The sum of a metric's samples (one per label set, e.g. per model), or NaN when it is absent.
   * Labels may hold spaces and braces in quotes; a sample's timestamp is ignored, and NaN, infinite
   * or garbled samples are skipped. Another metric whose name starts with this one's is not it.
   */
  public static double sum(String exposition, String metric) {
    double total = 0;
    boolean found = false;
    int from = 0;
    while (true) {
      int at = exposition.indexOf(metric, from);
      if (at < 0) {
        break;
      }
      from = at + metric.length();
      boolean lineStart = at == 0 || exposition.charAt(at - 1) == '\n';
      if (!lineStart || from >= exposition.length()) {
        continue;
      }
      char next = exposition.charAt(from);
      if (next != ' ' && next != '{') {
        continue; // another metric with this one's name as a prefix
      }
      int end = exposition.indexOf('\n', from);
      String rest = exposition.substring(from, end < 0 ? exposition.length() : end);
      if (next == '{') {
        int close = labelsEnd(rest);
        if (close < 0) {
          continue;
        }
        rest = rest.substring(close + 1);
      }
      String[] parts = rest.trim().split("\\s+"); // the value, then an optional timestamp
      try {
        double value = Double.parseDouble(parts[0]);
        if (Double.isFinite(value)) { // NaN or infinite: skip the sample, not the metric
          total += value;
          found = true;
        }
      } catch (NumberFormatException e) {
        // garbage: skip the sample
      }
    }
    return found ? total : Double.NaN;
  }

  /** Where the label set that starts {@code text} ({@code {...}}) ends, quotes respected. */
  private static int labelsEnd(String text) {
    boolean quoted = false;
    for (int i = 1; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted && c == '\\') {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '}' && !quoted) {
        return i;
      }
    }
    return -1;
  }
}
