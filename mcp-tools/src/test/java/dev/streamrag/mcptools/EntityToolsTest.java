package dev.streamrag.mcptools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.Entity;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EntityToolsTest {
  private static final Entity OSLEN =
      new Entity("doc-000000", "acme", "river", "the Oslen River", Map.of("length", "1234 km"));
  private static final Entity DIODU =
      new Entity("doc-000001", "globex", "company", "Diodu Industries", Map.of("employees", "52"));
  private static final Entity MIRA =
      new Entity("doc-000002", "acme", "city", "Miravale", Map.of("population", "52000"));

  private final EntityTools tools = new EntityTools(List.of(OSLEN, DIODU, MIRA));

  @ParameterizedTest
  @ValueSource(
      strings = {
        "the Oslen River",
        "Oslen River",
        "oslen river",
        "THE OSLEN RIVER",
        "The Oslen River",
        "  the   Oslen  River ",
      })
  void matchesIgnoringCaseSpacesAndALeadingThe(String name) {
    EntityTools.Lookup lookup = tools.lookup(name, null);
    assertThat(lookup.isFound()).isTrue();
    assertThat(lookup.entity()).isEqualTo(OSLEN);
  }

  @Test
  void aNameWithoutTheIsFoundWithOne() {
    assertThat(tools.lookup("the Diodu Industries", null).entity()).isEqualTo(DIODU);
  }

  @ParameterizedTest
  @ValueSource(strings = {"Oslen", "Oslen Rivers", "theOslen River", "the Oslen Lake"})
  void otherNamesAreNotMatches(String name) {
    assertThat(tools.lookup(name, null).isFound()).isFalse();
  }

  @Test
  void anUnknownNameSuggestsTheClosest() {
    assertThat(tools.lookup("the Olsen River", null).closestNames())
        .containsExactly("the Oslen River");
    assertThat(tools.lookup("Diodu Industry", null).closestNames())
        .containsExactly("Diodu Industries");
    // Part of a name: the model left out "River".
    assertThat(tools.lookup("Oslen", null).closestNames()).containsExactly("the Oslen River");
  }

  @Test
  void anUnknownNameFarFromAllSuggestsNothing() {
    EntityTools.Lookup lookup = tools.lookup("Quarnhold Labs", null);
    assertThat(lookup.isFound()).isFalse();
    assertThat(lookup.entity()).isNull();
    assertThat(lookup.closestNames()).isEmpty();
    assertThat(tools.lookup("", null).closestNames()).isEmpty();
    assertThat(tools.lookup("x".repeat(500), null).closestNames()).isEmpty();
  }

  @Test
  void aTenantSeesOnlyItsOwnEntities() {
    assertThat(tools.lookup("Diodu Industries", "globex").entity()).isEqualTo(DIODU);
    assertThat(tools.lookup("Diodu Industries", "acme").isFound()).isFalse();
    assertThat(tools.lookup("Diodu Industries", "initech").isFound()).isFalse();
    // Blank means no tenant given.
    assertThat(tools.lookup("Diodu Industries", " ").entity()).isEqualTo(DIODU);
  }

  @Test
  void suggestionsDoNotLeakOtherTenantsNames() {
    assertThat(tools.lookup("Diodu Industry", "acme").closestNames()).isEmpty();
    assertThat(tools.lookup("Diodu Industry", "globex").closestNames())
        .containsExactly("Diodu Industries");
  }

  @Test
  void listsByKindAndTenantInCorpusOrder() {
    assertThat(tools.list(null, null).names())
        .containsExactly("the Oslen River", "Diodu Industries", "Miravale");
    assertThat(tools.list("city", null).names()).containsExactly("Miravale");
    assertThat(tools.list("CITY", null).names()).containsExactly("Miravale");
    assertThat(tools.list(null, "acme").names()).containsExactly("the Oslen River", "Miravale");
    assertThat(tools.list("company", "acme").names()).isEmpty();
    assertThat(tools.list("volcano", null).total()).isZero();
    assertThat(tools.kinds()).containsExactly("city", "company", "river");
  }

  @Test
  void listingIsCapped() {
    List<Entity> many = new ArrayList<>();
    for (int i = 0; i < EntityTools.MAX_LISTED + 5; i++) {
      many.add(new Entity("doc-" + i, "acme", "city", "City " + i, Map.of()));
    }
    EntityTools.Listing listing = new EntityTools(many).list(null, null);
    assertThat(listing.names()).hasSize(EntityTools.MAX_LISTED).startsWith("City 0");
    assertThat(listing.total()).isEqualTo(EntityTools.MAX_LISTED + 5);
    assertThat(listing.isTruncated()).isTrue();
    assertThat(tools.list(null, null).isTruncated()).isFalse();
  }

  @Test
  void everyEntityOfTheDemoCorpusIsFoundByItsNameHoweverWritten() {
    List<Entity> entities = DemoCorpus.generate(42, 500, List.of("acme", "globex")).entities();
    EntityTools corpusTools = new EntityTools(entities);
    for (Entity entity : entities) {
      String name = entity.name();
      assertThat(corpusTools.lookup(name, null).entity()).isEqualTo(entity);
      assertThat(corpusTools.lookup(name.toUpperCase(Locale.ROOT), null).entity())
          .isEqualTo(entity);
      assertThat(corpusTools.lookup(name.replaceFirst("^the ", ""), null).entity())
          .isEqualTo(entity);
      assertThat(corpusTools.lookup(name, entity.tenantId()).entity()).isEqualTo(entity);
    }
  }

  @Test
  void editDistanceStopsAtItsLimit() {
    assertThat(EntityTools.editDistance("kitten", "sitting", 5)).isEqualTo(3);
    assertThat(EntityTools.editDistance("kitten", "sitting", 2)).isEqualTo(3);
    assertThat(EntityTools.editDistance("a", "abcdefgh", 2)).isEqualTo(3);
    assertThat(EntityTools.editDistance("same", "same", 0)).isZero();
  }
}
