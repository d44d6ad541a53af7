package dev.streamrag.corpus;

import java.util.HashSet;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * Invented, pronounceable, unique names ("Quillon", "Mirovale"), so that no fact in the corpus can
 * be answered from a model's training data and every entity is told apart by its name.
 */
final class NameGenerator {
  private static final String[] ONSETS = {
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "pr", "qu", "r",
    "s", "st", "t", "tr", "v", "w", "z", "th", "sh"
  };
  private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ea", "io", "ou"};
  private static final String[] CODAS = {"", "", "n", "r", "l", "s", "x", "nd", "rn", "th", "m"};

  private final Random random;
  private final Set<String> used = new HashSet<>();

  NameGenerator(Random random) {
    this.random = random;
  }

  /** A name of two or three syllables never returned before by this generator. */
  String next() {
    while (true) {
      int syllables = 2 + random.nextInt(2);
      StringBuilder name = new StringBuilder();
      for (int i = 0; i < syllables; i++) {
        name.append(ONSETS[random.nextInt(ONSETS.length)]);
        name.append(VOWELS[random.nextInt(VOWELS.length)]);
        if (i == syllables - 1 || random.nextInt(3) == 0) {
          name.append(CODAS[random.nextInt(CODAS.length)]);
        }
      }
      String candidate = name.substring(0, 1).toUpperCase(Locale.ROOT) + name.substring(1);
      if (used.add(candidate)) {
        return candidate;
      }
    }
  }

  /** A person's name: given name and family name, unique as a pair. */
  String person() {
    return next() + " " + next();
  }
}
