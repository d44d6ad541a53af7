package dev.streamrag.bench.load;

import java.io.Serializable;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A distribution of lengths (characters, tokens), written {@code fixed:N}, {@code uniform:MIN,MAX}
 * or {@code lognormal:MEDIAN,SIGMA}. Samples are whole numbers of at least 1.
 */
public record LengthDistribution(Kind kind, double first, double second) implements Serializable {
  public enum Kind {
    FIXED,
    UNIFORM,
    LOGNORMAL
  }

  public LengthDistribution {
    if (first < 1 || (kind == Kind.UNIFORM && second < first) || second < 0) {
      throw new IllegalArgumentException(
          "invalid length distribution " + describe(kind, first, second));
    }
  }

  public static LengthDistribution parse(String spec) {
    String[] parts = spec.strip().split(":", 2);
    try {
      Kind kind = Kind.valueOf(parts[0].strip().toUpperCase(Locale.ROOT));
      String[] numbers = parts.length > 1 ? parts[1].split(",") : new String[0];
      return switch (kind) {
        case FIXED -> new LengthDistribution(kind, number(numbers, 0), 0);
        case UNIFORM, LOGNORMAL ->
            new LengthDistribution(kind, number(numbers, 0), number(numbers, 1));
      };
    } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
      throw new IllegalArgumentException(
          "invalid length distribution '"
              + spec
              + "': expected fixed:N, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA",
          e);
    }
  }

  private static double number(String[] numbers, int i) {
    return Double.parseDouble(numbers[i].strip());
  }

  public int sample(SplittableRandom random) {
    double value =
        switch (kind) {
          case FIXED -> first;
          case UNIFORM -> first + random.nextDouble() * (second - first + 1);
          case LOGNORMAL -> first * Math.exp(second * gaussian(random));
        };
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.floor(value)));
  }

  /** Box–Muller: SplittableRandom has no nextGaussian on Java 17. */
  private static double gaussian(SplittableRandom random) {
    double u = 1.0 - random.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
  }

  @Override
  public String toString() {
    return describe(kind, first, second);
  }

  private static String describe(Kind kind, double first, double second) {
    String name = kind.name().toLowerCase(Locale.ROOT);
    return kind == Kind.FIXED
        ? name + ":" + fmt(first)
        : name + ":" + fmt(first) + "," + fmt(second);
  }

  private static String fmt(double value) {
    return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
  }
}
