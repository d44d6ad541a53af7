package dev.streamrag.mcptools;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads durations on the command line as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h} or
 * ISO-8601 ({@code PT30S}). The gateway reads its durations the same way (its own copy: the modules
 * share no command-line code).
 */
final class DurationConverter implements ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  /** {@code duration} as this converter reads it, in the largest unit that is exact. */
  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 60_000 != 0 || millis == 0) {
      return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
    return millis % 3_600_000 == 0 ? millis / 3_600_000 + "h" : millis / 60_000 + "m";
  }

  static Duration parse(String value) {
    String text = value.strip().toLowerCase(Locale.ROOT);
    try {
      if (text.startsWith("p")) {
        return Duration.parse(text.toUpperCase(Locale.ROOT));
      }
      if (text.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2).strip()));
      }
      long amount = Long.parseLong(text.substring(0, text.length() - 1).strip());
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        default -> throw new NumberFormatException();
      };
    } catch (RuntimeException e) {
      throw new TypeConversionException(
          "'" + value + "' is not a duration: write e.g. 500ms, 30s, 5m or PT30S");
    }
  }
}
