package dev.streamrag.mcptools;

import dev.streamrag.corpus.Entity;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Finds the demo corpus's entities by name, the way a model names them: case does not matter, nor a
 * leading "the" ({@code oslen river} finds {@code the Oslen River}), nor extra spaces. A name not
 * found comes back with the closest visible names, so a model can correct a typo in its next call.
 *
 * <p>An optional tenant narrows what is visible to that tenant's entities, names suggested
 * included. It is advisory: the caller says which tenant it is, nothing checks it yet (issue 20
 * binds tenants to callers).
 */
public final class EntityTools {
  /** Most names {@link #list} returns. */
  public static final int MAX_LISTED = 100;

  /** Most names a failed lookup suggests. */
  static final int MAX_SUGGESTIONS = 3;

  /** Names longer than this are not compared for suggestions (edit distance is quadratic). */
  private static final int MAX_COMPARED_LENGTH = 100;

  /** Shorter names are not looked for inside others: "a" is in most of them. */
  private static final int MIN_CONTAINED_LENGTH = 3;

  /** An entity with its name as {@link #key} makes it. */
  private record Keyed(Entity entity, String key) {}

  private final List<Keyed> entities = new ArrayList<>();
  private final Map<String, List<Entity>> byKey = new LinkedHashMap<>();

  public EntityTools(List<Entity> entities) {
    for (Entity entity : entities) {
      String key = key(entity.name());
      this.entities.add(new Keyed(entity, key));
      byKey.computeIfAbsent(key, k -> new ArrayList<>(1)).add(entity);
    }
  }

  /**
   * The entity called {@code name}, visible to {@code tenant} (null or blank: every tenant). The
   * corpus's names are unique, so at most one matches; were two tenants to share a name, the first
   * in corpus order is returned when no tenant is given.
   */
  public Lookup lookup(String name, String tenant) {
    Objects.requireNonNull(name, "name");
    String wanted = key(name);
    for (Entity entity : byKey.getOrDefault(wanted, List.of())) {
      if (visible(entity, tenant)) {
        return new Lookup(entity, List.of());
      }
    }
    return new Lookup(null, closestNames(wanted, tenant));
  }

  /**
   * The names of the entities of {@code kind} (null: every kind) visible to {@code tenant}, in
   * corpus order, at most {@link #MAX_LISTED}.
   */
  public Listing list(String kind, String tenant) {
    List<String> names = new ArrayList<>();
    int total = 0;
    for (Keyed keyed : entities) {
      Entity entity = keyed.entity();
      if (visible(entity, tenant) && (isBlank(kind) || entity.kind().equalsIgnoreCase(kind))) {
        total++;
        if (names.size() < MAX_LISTED) {
          names.add(entity.name());
        }
      }
    }
    return new Listing(names, total);
  }

  /** The kinds of entity in the corpus, sorted. */
  public List<String> kinds() {
    TreeSet<String> kinds = new TreeSet<>();
    entities.forEach(keyed -> kinds.add(keyed.entity().kind()));
    return List.copyOf(kinds);
  }

  /** How names are compared: lower case, single spaces, without a leading "the ". */
  static String key(String name) {
    String key = name.strip().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    return key.startsWith("the ") ? key.substring(4) : key;
  }

  private static boolean visible(Entity entity, String tenant) {
    return isBlank(tenant) || entity.tenantId().equals(tenant.strip());
  }

  private static boolean isBlank(String value) {
    return value == null || value.isBlank();
  }

  /**
   * Visible names containing what was asked for (a model asking for "Oslen" wants "the Oslen
   * River"), then those within a few edits of it, nearest first.
   */
  private List<String> closestNames(String wanted, String tenant) {
    if (wanted.isEmpty() || wanted.length() > MAX_COMPARED_LENGTH) {
      return List.of();
    }
    int maxDistance = Math.max(2, wanted.length() / 4);
    record Candidate(String name, int distance) {}
    List<Candidate> candidates = new ArrayList<>();
    boolean containment = wanted.length() >= MIN_CONTAINED_LENGTH;
    for (Keyed keyed : entities) {
      if (!visible(keyed.entity(), tenant)) {
        continue;
      }
      int distance =
          containment && keyed.key().contains(wanted)
              ? 0
              : editDistance(wanted, keyed.key(), maxDistance);
      if (distance <= maxDistance) {
        candidates.add(new Candidate(keyed.entity().name(), distance));
      }
    }
    return candidates.stream()
        .sorted(Comparator.comparingInt(Candidate::distance).thenComparing(Candidate::name))
        .limit(MAX_SUGGESTIONS)
        .map(Candidate::name)
        .toList();
  }

  /** Levenshtein distance, or {@code limit + 1} as soon as it must exceed {@code limit}. */
  static int editDistance(String a, String b, int limit) {
    if (Math.abs(a.length() - b.length()) > limit) {
      return limit + 1;
    }
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      int rowMin = current[0];
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
        rowMin = Math.min(rowMin, current[j]);
      }
      if (rowMin > limit) {
        return limit + 1;
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return Math.min(previous[b.length()], limit + 1);
  }

  /**
   * What a lookup found.
   *
   * @param entity the entity, or null when none of that name is visible
   * @param closestNames when not found: visible names the caller may have meant, best first
   */
  public record Lookup(Entity entity, List<String> closestNames) {
    public Lookup {
      closestNames = List.copyOf(closestNames);
    }

    public boolean isFound() {
      return entity != null;
    }
  }

  /**
   * Names listed.
   *
   * @param names at most {@link #MAX_LISTED}, in corpus order
   * @param total how many matched, listed or not
   */
  public record Listing(List<String> names, int total) {
    public Listing {
      names = List.copyOf(names);
    }

    public boolean isTruncated() {
      return total > names.size();
    }
  }
}
