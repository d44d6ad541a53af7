package dev.streamrag.llmsim.text;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Chooses the simulator's answer, deterministically, so that end-to-end tests can check that
 * retrieval found the right passage.
 *
 * <p>Rule: the question is the last user message. Every other text of the conversation (system
 * prompt, context passages, earlier turns, and the lines of the last user message before its final
 * line) is split into sentences. The answer is the sentence sharing the most distinct content words
 * with the question (lower-cased, stop words dropped); ties go to the earlier sentence. Without any
 * overlap the answer is a fixed "I don't know" sentence. If the request asks for more tokens than
 * that ({@code min_tokens}), the answer continues with filler words drawn from a generator seeded
 * by the request's seed and text, so equal requests get equal answers.
 */
public final class AnswerComposer {
  public static final String NO_ANSWER = "I could not find the answer in the provided context.";

  private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+|\\n+");
  private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");
  private static final Set<String> STOP_WORDS =
      Set.of(
          "a",
          "an",
          "the",
          "is",
          "are",
          "was",
          "were",
          "be",
          "been",
          "of",
          "in",
          "on",
          "at",
          "to",
          "for",
          "by",
          "with",
          "and",
          "or",
          "what",
          "who",
          "whom",
          "which",
          "when",
          "where",
          "why",
          "how",
          "does",
          "do",
          "did",
          "it",
          "its",
          "this",
          "that",
          "these",
          "those",
          "as",
          "from",
          "about",
          "tell",
          "me",
          "please",
          "can",
          "you",
          "i",
          "question",
          "context",
          "answer");
  private static final String[] FILLER = {
    "moreover",
    "the",
    "record",
    "shows",
    "that",
    "this",
    "detail",
    "is",
    "consistent",
    "with",
    "other",
    "sources",
    "and",
    "it",
    "remains",
    "accurate",
    "as",
    "of",
    "today"
  };

  private AnswerComposer() {}

  /**
   * @param conversationTexts every message's text except the question, oldest first
   * @param question the last user message
   */
  public static String answer(List<String> conversationTexts, String question) {
    Set<String> questionWords = contentWords(question);
    String best = null;
    int bestScore = 0;
    for (String text : conversationTexts) {
      for (String sentence : SENTENCE_END.split(text)) {
        String trimmed = sentence.strip();
        if (trimmed.isEmpty()) {
          continue;
        }
        Set<String> overlap = contentWords(trimmed);
        overlap.retainAll(questionWords);
        if (overlap.size() > bestScore) {
          bestScore = overlap.size();
          best = trimmed;
        }
      }
    }
    return best == null ? NO_ANSWER : best;
  }

  /**
   * Splits the last user message into context and question: its last non-empty line is the
   * question, anything before it is context (RAG prompts often put passages and question in one
   * message).
   */
  public static String[] splitLastUserMessage(String message) {
    String[] lines = message.strip().split("\\n");
    String question = lines[lines.length - 1].strip();
    String context = String.join("\n", Arrays.copyOf(lines, lines.length - 1));
    return new String[] {context, question};
  }

  /** Extends {@code answer} with seeded filler words up to at least {@code minTokens} tokens. */
  public static String padToTokens(String answer, int minTokens, long seed) {
    int tokens = ApproximateTokenizer.count(answer);
    if (tokens >= minTokens) {
      return answer;
    }
    Random random = new Random(seed ^ answer.hashCode());
    StringBuilder text = new StringBuilder(answer);
    while (tokens < minTokens) {
      String word = FILLER[random.nextInt(FILLER.length)];
      text.append(' ').append(word);
      tokens += ApproximateTokenizer.count(word);
    }
    return text.toString();
  }

  /** The first {@code maxTokens} tokens of {@code text}, cut at a token boundary. */
  public static String truncateToTokens(String text, int maxTokens) {
    List<String> pieces = ApproximateTokenizer.pieces(text);
    if (pieces.size() <= maxTokens) {
      return text;
    }
    int position = 0;
    for (int i = 0; i < maxTokens; i++) {
      position = text.indexOf(pieces.get(i), position) + pieces.get(i).length();
    }
    return text.substring(0, position);
  }

  /**
   * Lower-cased words of {@code text} without stop words, a plural or third-person "s" cut off
   * ("rises" matches the question's "rise").
   */
  public static Set<String> contentWords(String text) {
    Set<String> words = new HashSet<>();
    for (String word : NON_WORD.split(text.toLowerCase(Locale.ROOT))) {
      if (!word.isEmpty() && !STOP_WORDS.contains(word)) {
        words.add(singular(word));
      }
    }
    return words;
  }

  private static String singular(String word) {
    return word.length() > 3 && word.endsWith("s") && !word.endsWith("ss")
        ? word.substring(0, word.length() - 1)
        : word;
  }
}
