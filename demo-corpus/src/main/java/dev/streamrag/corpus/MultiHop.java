package dev.streamrag.corpus;

import dev.streamrag.corpus.MultiHopQuestion.ToolStep;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Multi-hop questions over pairs of entities of one kind and one tenant: each needs both entities'
 * numeric fact ({@code lookup_entity} twice) and one arithmetic step ({@code compute}). Pairs are
 * drawn from a seeded shuffle, so the set is reproducible.
 */
final class MultiHop {
  /** A question template: which numeric attribute, how the two values combine, and the wording. */
  private record Template(String attribute, String unit, boolean sum, String wording) {}

  private static final Map<String, Template> BY_KIND =
      Map.of(
          "river",
          new Template("length", " km", true, "What is the combined length of %s and %s?"),
          "company",
          new Template("employees", "", false, "How many more people does %s employ than %s?"),
          "scientist",
          new Template(
              "first_paper_year",
              "",
              false,
              "How many years after %2$s did %1$s publish their first paper?"),
          "probe",
          new Template(
              "launch_mass", " kg", true, "What is the combined launch mass of %s and %s?"),
          "city",
          new Template("population", "", true, "What is the combined population of %s and %s?"));

  private MultiHop() {}

  static List<MultiHopQuestion> questions(List<Entity> entities, Random random) {
    Map<String, List<Entity>> groups = new LinkedHashMap<>();
    for (Entity entity : entities) {
      groups
          .computeIfAbsent(entity.tenantId() + "/" + entity.kind(), k -> new ArrayList<>())
          .add(entity);
    }
    List<MultiHopQuestion> questions = new ArrayList<>();
    for (List<Entity> group : groups.values()) {
      List<Entity> shuffled = new ArrayList<>(group);
      Collections.shuffle(shuffled, random);
      for (int i = 0; i + 1 < shuffled.size(); i += 2) {
        questions.add(question(questions.size(), shuffled.get(i), shuffled.get(i + 1)));
      }
    }
    return questions;
  }

  private static MultiHopQuestion question(int number, Entity a, Entity b) {
    Template template = BY_KIND.get(a.kind());
    long x = number(a.attributes().get(template.attribute()));
    long y = number(b.attributes().get(template.attribute()));
    Entity first = a;
    Entity second = b;
    if (!template.sum() && x < y) { // a difference is asked the way that makes it positive
      first = b;
      second = a;
      long swap = x;
      x = y;
      y = swap;
    }
    long answer = template.sum() ? x + y : x - y;
    String expression = x + (template.sum() ? " + " : " - ") + y;
    return new MultiHopQuestion(
        String.format("mh-%06d", number),
        a.tenantId(),
        String.format(template.wording(), first.name(), second.name()),
        answer + template.unit(),
        List.of(
            new ToolStep("lookup_entity", Map.of("name", first.name())),
            new ToolStep("lookup_entity", Map.of("name", second.name())),
            new ToolStep("compute", Map.of("expression", expression))));
  }

  /** The number in a fact's value: {@code 1234 km} → 1234. */
  static long number(String value) {
    return Long.parseLong(value.replaceAll("[^0-9]", ""));
  }
}
