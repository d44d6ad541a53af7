package dev.streamrag.bench.load;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws ranks 0..n-1 with weight 1/(rank+1)^s, by binary search in the cumulative weights. s = 0 is
 * uniform. Precomputed once: n is at most a few tens of thousands of questions.
 */
public final class ZipfSampler {
  private final double[] cumulative;

  public ZipfSampler(int n, double exponent) {
    if (n < 1) {
      throw new IllegalArgumentException("need at least one item, got " + n);
    }
    if (exponent < 0 || Double.isNaN(exponent)) {
      throw new IllegalArgumentException("Zipf exponent must be >= 0, got " + exponent);
    }
    cumulative = new double[n];
    double sum = 0;
    for (int rank = 0; rank < n; rank++) {
      sum += 1.0 / Math.pow(rank + 1, exponent);
      cumulative[rank] = sum;
    }
  }

  public int sample(SplittableRandom random) {
    double target = random.nextDouble() * cumulative[cumulative.length - 1];
    int found = Arrays.binarySearch(cumulative, target);
    int rank = found >= 0 ? found : -found - 1;
    return Math.min(rank, cumulative.length - 1);
  }

  /** The probability of {@code rank}. */
  public double probability(int rank) {
    double previous = rank == 0 ? 0 : cumulative[rank - 1];
    return (cumulative[rank] - previous) / cumulative[cumulative.length - 1];
  }
}
