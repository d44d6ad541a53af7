package dev.streamrag.corpus;

import dev.streamrag.schemas.Document;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A synthetic corpus of encyclopedia-style articles about invented entities (rivers, companies,
 * scientists, space probes, cities), each with three facts and some neutral filler sentences, plus
 * one question per fact whose answer and answering document are known. Reproducible: the same seed,
 * size and tenants give the same corpus, byte for byte.
 *
 * <p>Entities are invented so that a model cannot answer from what it already knows, and every
 * question names its entity, so finding the right document is a retrieval problem with one right
 * answer. Articles of one kind share their sentence patterns, so retrieval must match on the names
 * and facts, not on the template.
 */
public final class DemoCorpus {
  private final List<Document> documents;
  private final List<QaPair> questions;
  private final List<Entity> entities;
  private final List<MultiHopQuestion> multiHop;

  private DemoCorpus(
      List<Document> documents,
      List<QaPair> questions,
      List<Entity> entities,
      List<MultiHopQuestion> multiHop) {
    this.documents = List.copyOf(documents);
    this.questions = List.copyOf(questions);
    this.entities = List.copyOf(entities);
    this.multiHop = List.copyOf(multiHop);
  }

  /**
   * @param documents how many articles (one entity each)
   * @param tenants the documents are dealt to these tenants in turn
   */
  public static DemoCorpus generate(long seed, int documents, List<String> tenants) {
    if (documents < 0) {
      throw new IllegalArgumentException("documents must not be negative, got " + documents);
    }
    if (tenants.isEmpty()) {
      throw new IllegalArgumentException("at least one tenant is needed");
    }
    Random random = new Random(seed);
    NameGenerator names = new NameGenerator(random);
    List<Document> docs = new ArrayList<>(documents);
    List<QaPair> qas = new ArrayList<>(documents * 3);
    List<Entity> entities = new ArrayList<>(documents);
    for (int i = 0; i < documents; i++) {
      String docId = String.format("doc-%06d", i);
      String tenant = tenants.get(i % tenants.size());
      Article article = Article.KINDS[i % Article.KINDS.length].write(random, names);
      StringBuilder text = new StringBuilder(article.intro());
      List<String> fillers = new ArrayList<>(article.fillers());
      // Facts and fillers interleaved in a seeded order: answers are not always in one place.
      for (Fact fact : article.facts()) {
        text.append(' ').append(fact.sentence());
        if (!fillers.isEmpty() && random.nextBoolean()) {
          text.append(' ').append(fillers.remove(random.nextInt(fillers.size())));
        }
      }
      for (String filler : fillers) {
        text.append(' ').append(filler);
      }
      docs.add(
          Document.newBuilder()
              .setDocId(docId)
              .setTenantId(tenant)
              .setTitle(article.title())
              .setText(text.toString())
              .setSource("demo-corpus:seed=" + seed)
              .setUpdatedAt(null)
              .setDeleted(false)
              .setMetadata(Map.of("kind", article.kind()))
              .build());
      Map<String, String> attributes = new LinkedHashMap<>();
      article.facts().forEach(fact -> attributes.put(fact.attribute(), fact.answer()));
      entities.add(new Entity(docId, tenant, article.kind(), article.subject(), attributes));
      for (int f = 0; f < article.facts().size(); f++) {
        Fact fact = article.facts().get(f);
        qas.add(
            new QaPair(
                String.format("q-%06d-%d", i, f), tenant, docId, fact.question(), fact.answer()));
      }
    }
    // Their own random stream: the articles and questions stay what they were before these.
    return new DemoCorpus(docs, qas, entities, MultiHop.questions(entities, new Random(~seed)));
  }

  public List<Document> documents() {
    return documents;
  }

  public List<QaPair> questions() {
    return questions;
  }

  /** Every article's entity with its facts by attribute: what the demo tools look up. */
  public List<Entity> entities() {
    return entities;
  }

  /** Questions that need two entities' facts and a computation (tool-using agents). */
  public List<MultiHopQuestion> multiHopQuestions() {
    return multiHop;
  }

  /**
   * One sentence stating a fact, the question it answers, and the answer's exact text, under the
   * attribute's name (as the entity tools return it).
   */
  record Fact(String attribute, String sentence, String question, String answer) {}

  /** What one entity's article is made of; {@code subject} is how questions name the entity. */
  record Article(
      String kind,
      String title,
      String subject,
      String intro,
      List<Fact> facts,
      List<String> fillers) {

    interface Writer {
      Article write(Random random, NameGenerator names);
    }

    static final Writer[] KINDS = {
      Article::river, Article::company, Article::scientist, Article::probe, Article::city
    };

    private static String pick(Random random, String... options) {
      return options[random.nextInt(options.length)];
    }

    static Article river(Random random, NameGenerator names) {
      String name = "the " + names.next() + " River";
      String title = capitalise(name.substring(4));
      String length = (80 + random.nextInt(3_000)) + " km";
      String source = "the " + names.next() + " " + pick(random, "Mountains", "Hills", "Highlands");
      String mouth = pick(random, "Lake ", "the Gulf of ", "the Bay of ") + names.next();
      return new Article(
          "river",
          title,
          name,
          capitalise(name) + " is a river in the region of " + names.next() + ".",
          List.of(
              new Fact(
                  "length",
                  capitalise(name) + " is " + length + " long.",
                  "How long is " + name + "?",
                  length),
              new Fact(
                  "source",
                  capitalise(name) + " rises in " + source + ".",
                  "Where does " + name + " rise?",
                  source),
              new Fact(
                  "mouth",
                  capitalise(name) + " flows into " + mouth + ".",
                  "What does " + name + " flow into?",
                  mouth)),
          List.of(
              "Its banks are home to many species of birds.",
              "Fishing along the river has a long tradition.",
              "Several old bridges cross the river near its middle course."));
    }

    static Article company(Random random, NameGenerator names) {
      String name =
          names.next() + " " + pick(random, "Industries", "Systems", "Labs", "Holdings", "Works");
      String year = String.valueOf(1890 + random.nextInt(130));
      String founder = names.person();
      String hq = names.next();
      String staff = String.valueOf(50 + random.nextInt(90_000));
      return new Article(
          "company",
          name,
          name,
          name
              + " is a company known for its "
              + pick(random, "machinery", "software", "textiles", "instruments", "batteries")
              + ".",
          List.of(
              new Fact(
                  "founder",
                  name + " was founded in " + year + " by " + founder + ".",
                  "Who founded " + name + "?",
                  founder),
              new Fact(
                  "headquarters",
                  name + " is headquartered in " + hq + ".",
                  "Where is " + name + " headquartered?",
                  hq),
              new Fact(
                  "employees",
                  name + " employs " + staff + " people.",
                  "How many people does " + name + " employ?",
                  staff)),
          List.of(
              "The company has expanded into several new markets.",
              "Its products are sold in many countries.",
              "The company publishes an annual report every spring."));
    }

    static Article scientist(Random random, NameGenerator names) {
      String name = names.person();
      String field = pick(random, "physicist", "chemist", "botanist", "astronomer", "geologist");
      String born = names.next();
      String year = String.valueOf(1800 + random.nextInt(180));
      String discovery =
          "the " + names.next() + " " + pick(random, "effect", "reaction", "principle", "method");
      return new Article(
          "scientist",
          name,
          name,
          name + " was a " + field + ".",
          List.of(
              new Fact(
                  "birthplace",
                  name + " was born in " + born + ".",
                  "Where was " + name + " born?",
                  born),
              new Fact(
                  "first_paper_year",
                  name + " published their first paper in " + year + ".",
                  "When did " + name + " publish their first paper?",
                  year),
              new Fact(
                  "discovery",
                  name + " is best known for discovering " + discovery + ".",
                  "What is " + name + " best known for discovering?",
                  discovery)),
          List.of(
              "Colleagues described their lectures as clear and lively.",
              "Many of their students went on to teach at universities.",
              "Their notebooks are kept in a public archive."));
    }

    static Article probe(Random random, NameGenerator names) {
      String name = "the " + names.next() + " probe";
      String year = String.valueOf(1960 + random.nextInt(65));
      String target = names.next();
      String mass = (200 + random.nextInt(4_000)) + " kg";
      return new Article(
          "probe",
          capitalise(name.substring(4)),
          name,
          capitalise(name) + " is an uncrewed spacecraft.",
          List.of(
              new Fact(
                  "launch_year",
                  capitalise(name) + " was launched in " + year + ".",
                  "When was " + name + " launched?",
                  year),
              new Fact(
                  "target_moon",
                  capitalise(name) + " was sent to study the moon " + target + ".",
                  "Which moon was " + name + " sent to study?",
                  target),
              new Fact(
                  "launch_mass",
                  capitalise(name) + " had a launch mass of " + mass + ".",
                  "What was the launch mass of " + name + "?",
                  mass)),
          List.of(
              "Its instruments returned data for many years.",
              "Engineers tested the spacecraft in a vacuum chamber before launch.",
              "The mission team held regular public briefings."));
    }

    static Article city(Random random, NameGenerator names) {
      String name = names.next();
      String population = String.valueOf(2_000 + random.nextInt(3_000_000));
      String mayor = names.person();
      String year = String.valueOf(900 + random.nextInt(1_100));
      return new Article(
          "city",
          name,
          name,
          name
              + " is a city on the "
              + pick(random, "northern", "southern", "eastern", "western")
              + " coast of "
              + names.next()
              + ".",
          List.of(
              new Fact(
                  "population",
                  name + " has a population of " + population + ".",
                  "What is the population of " + name + "?",
                  population),
              new Fact(
                  "mayor",
                  "The mayor of " + name + " is " + mayor + ".",
                  "Who is the mayor of " + name + "?",
                  mayor),
              new Fact(
                  "founded_year",
                  name + " was founded in the year " + year + ".",
                  "When was " + name + " founded?",
                  year)),
          List.of(
              "The old town has narrow streets and a busy market square.",
              "A ferry connects the harbour with nearby islands.",
              "The city hosts a music festival every summer."));
    }

    private static String capitalise(String text) {
      return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }
  }
}
