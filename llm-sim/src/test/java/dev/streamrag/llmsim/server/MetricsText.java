package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads one series' value out of a /metrics page (Prometheus text format). */
final class MetricsText {
  private MetricsText() {}

  /** The value of {@code series}, its name and labels spelt exactly as rendered; it must exist. */
  static double value(String metrics, String series) {
    Matcher matcher =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE)
            .matcher(metrics);
    assertThat(matcher.find()).as("series %s in%n%s", series, metrics).isTrue();
    return Double.parseDouble(matcher.group(1));
  }
}
