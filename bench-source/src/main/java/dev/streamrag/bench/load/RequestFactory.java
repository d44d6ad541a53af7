package dev.streamrag.bench.load;

import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.corpus.QaPair;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.RetrievalOptions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Turns request number {@code i} of a scenario into an {@link InferenceRequest}. Everything is
 * drawn from seeds, so request {@code i} is the same after a restore as before it.
 *
 * <p>The kind is drawn first: AGENT with {@code bench.agent-share}, then RAG or CHAT among the rest
 * by {@code bench.rag-share}, from one uniform draw, so a run without agents draws exactly what it
 * drew before agents existed. What a request asks is drawn by popularity rank (Zipf): a RAG request
 * asks a demo-corpus question, so the report can check its answer and citation; an AGENT request
 * asks a multi-hop question (two entities' facts and a computation), checked the same way; a CHAT
 * request sends one of a pool of synthetic prompts. Everything that enters the response-cache key
 * (text, prefix, maxTokens) is fixed by the rank, so a repeated rank is a repeated request and the
 * Zipf exponent sets the cache hit ratio.
 */
public final class RequestFactory {
  /** Attributes the report selects and grades by. */
  public static final String RUN = "bench.run";

  /**
   * The question a RAG or AGENT request asks, by questionId: a {@code QaPair}'s for RAG, a {@code
   * MultiHopQuestion}'s for AGENT (the report grades each kind against its own list).
   */
  public static final String QUESTION = "bench.question";

  /**
   * The intended send time in epoch µs: {@code createdAt} is a timestamp-millis, and a cache hit
   * answers in a few ms, so the client measures from this.
   */
  public static final String INTENDED_MICROS = "bench.intended-us";

  public static final String INDEX = "bench.index";

  /** Distinct CHAT prompts. */
  static final int CHAT_POOL = 1000;

  private static final String[] WORDS = {
    "stream",
    "batch",
    "latency",
    "token",
    "cache",
    "model",
    "vector",
    "index",
    "query",
    "answer",
    "cluster",
    "window",
    "state",
    "event",
    "shard",
    "replica",
    "budget",
    "prompt",
    "context",
    "schema",
    "throughput",
    "queue",
    "kernel",
    "memory",
    "signal",
    "record",
    "offset",
    "commit"
  };

  private final Scenario scenario;
  private final List<QaPair> questions;
  private final ZipfSampler questionRanks;
  private final List<MultiHopQuestion> multiHop;
  private final ZipfSampler multiHopRanks;
  private final ZipfSampler chatRanks;
  private final String sharedPrefix;

  public RequestFactory(Scenario scenario) {
    this.scenario = scenario;
    DemoCorpus corpus =
        DemoCorpus.generate(
            scenario.corpusSeed(), scenario.corpusDocuments(), scenario.corpusTenants());
    List<QaPair> all = new ArrayList<>(corpus.questions());
    // Popularity must not follow document order (rank 1 would always be doc-000000's facts).
    Collections.shuffle(all, new Random(scenario.seed()));
    this.questions = List.copyOf(all);
    this.questionRanks = new ZipfSampler(questions.size(), scenario.zipfExponent());
    List<MultiHopQuestion> hops = new ArrayList<>(corpus.multiHopQuestions());
    Collections.shuffle(hops, new Random(scenario.seed()));
    this.multiHop = List.copyOf(hops);
    if (scenario.agentShare() > 0 && multiHop.isEmpty()) {
      throw new IllegalArgumentException(
          "bench.agent-share needs multi-hop questions, and a demo corpus of "
              + scenario.corpusDocuments()
              + " documents has none: raise bench.corpus-documents");
    }
    this.multiHopRanks =
        multiHop.isEmpty() ? null : new ZipfSampler(multiHop.size(), scenario.zipfExponent());
    this.chatRanks = new ZipfSampler(CHAT_POOL, scenario.zipfExponent());
    this.sharedPrefix =
        text(new SplittableRandom(scenario.seed() ^ 0x5eed), scenario.sharedPrefixChars());
  }

  /** The questions RAG requests of the run ask, by popularity rank. */
  public List<QaPair> questions() {
    return questions;
  }

  /** The multi-hop questions AGENT requests of the run ask, by popularity rank. */
  public List<MultiHopQuestion> multiHopQuestions() {
    return multiHop;
  }

  /**
   * @param promptChars a trace's CHAT prompt length, or 0 for the scenario's distribution
   * @param maxTokens a trace's maxTokens, or 0 for the scenario's distribution
   */
  public InferenceRequest create(long index, Instant intended, int promptChars, int maxTokens) {
    SplittableRandom draw = new SplittableRandom(mix(scenario.seed(), index));
    RequestKind kind = kind(draw.nextDouble());
    int rank =
        switch (kind) {
          case AGENT -> multiHopRanks.sample(draw);
          case RAG -> questionRanks.sample(draw);
          case CHAT -> chatRanks.sample(draw);
        };
    // Everything below comes from the rank alone: the same rank is the same request.
    SplittableRandom byRank = new SplittableRandom(mix(scenario.seed() + rankStream(kind), rank));
    int tokens = maxTokens > 0 ? maxTokens : scenario.maxTokens().sample(byRank);
    // An agent's system message is the job's (agent.system-prompt): no shared prefix before it.
    boolean prefixed =
        byRank.nextDouble() < scenario.sharedPrefixRatio() && kind != RequestKind.AGENT;

    List<ChatMessage> messages = new ArrayList<>(2);
    if (prefixed) {
      messages.add(
          ChatMessage.newBuilder().setRole(ChatRole.SYSTEM).setContent(sharedPrefix).build());
    }
    InferenceRequest.Builder request =
        InferenceRequest.newBuilder()
            .setRequestId(scenario.runId() + "-" + index)
            .setMaxTokens(tokens)
            .setTemperature(0.0)
            .setCreatedAt(intended)
            .setDeadline(intended.plus(scenario.timeout()));
    switch (kind) {
      case AGENT -> {
        MultiHopQuestion question = multiHop.get(rank);
        messages.add(
            ChatMessage.newBuilder()
                .setRole(ChatRole.USER)
                .setContent(question.question())
                .build());
        request
            .setKind(RequestKind.AGENT)
            .setTenantId(question.tenantId())
            .setTools(scenario.agentTools())
            .setAttributes(attributes(index, intended, question.questionId()));
      }
      case RAG -> {
        QaPair qa = questions.get(rank);
        messages.add(
            ChatMessage.newBuilder().setRole(ChatRole.USER).setContent(qa.question()).build());
        request
            .setKind(RequestKind.RAG)
            .setTenantId(qa.tenantId())
            .setRetrieval(RetrievalOptions.newBuilder().build())
            .setAttributes(attributes(index, intended, qa.questionId()));
      }
      case CHAT -> {
        int chars = promptChars > 0 ? promptChars : scenario.promptChars().sample(byRank);
        messages.add(
            ChatMessage.newBuilder()
                .setRole(ChatRole.USER)
                .setContent(text(byRank, chars))
                .build());
        List<String> tenants = scenario.corpusTenants();
        request
            .setKind(RequestKind.CHAT)
            .setTenantId(tenants.get(rank % tenants.size()))
            .setAttributes(attributes(index, intended, null));
      }
    }
    return request.setMessages(messages).build();
  }

  /**
   * The kind of a request from one uniform draw {@code u}: AGENT below {@code bench.agent-share},
   * else RAG or CHAT by {@code bench.rag-share} over the rest of the interval. With no agents the
   * test is {@code u < ragShare}, as it was before agents existed.
   */
  private RequestKind kind(double u) {
    double agents = scenario.agentShare();
    if (u < agents) {
      return RequestKind.AGENT;
    }
    return (u - agents) / (1 - agents) < scenario.ragShare() ? RequestKind.RAG : RequestKind.CHAT;
  }

  /**
   * Each kind's per-rank draws come from their own stream (RAG's and CHAT's as they always were).
   */
  private static long rankStream(RequestKind kind) {
    return switch (kind) {
      case RAG -> 1;
      case CHAT -> 2;
      case AGENT -> 3;
    };
  }

  /** Exactly {@code chars} characters of words, ending in a question mark. */
  private static String text(SplittableRandom random, int chars) {
    StringBuilder text = new StringBuilder(chars + 16);
    while (text.length() < chars) {
      text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
    }
    text.setLength(Math.max(0, chars - 1));
    return text.append('?').toString();
  }

  /** What the report selects, grades and measures a request by. */
  private Map<String, String> attributes(long index, Instant intended, String questionId) {
    Map<String, String> attributes = new HashMap<>();
    attributes.put(RUN, scenario.runId());
    attributes.put(INDEX, Long.toString(index));
    attributes.put(INTENDED_MICROS, Long.toString(micros(intended)));
    if (questionId != null) {
      attributes.put(QUESTION, questionId);
    }
    return attributes;
  }

  private static long micros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
  }

  /** A well-spread seed from two numbers (SplitMix64's finaliser). */
  static long mix(long seed, long value) {
    long z = seed * 0x9E3779B97F4A7C15L + value;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
