package dev.streamrag.inference.prompt;

import dev.streamrag.inference.Stages;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.schemas.internal.Passage;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Builds the messages sent to the LLM within the token budget: the context window minus the tokens
 * the answer may take. CHAT requests go as they are. RAG requests get a system message, the earlier
 * turns, and one user message with the numbered passages and, on its last line, the question;
 * passages are added best first while they fit, and only those become citations.
 *
 * <p>Token counts are estimated from characters ({@code charsPerToken}, conservative by default)
 * because the served model's own tokenizer is not available to the job; vLLM still refuses a prompt
 * that does not fit, which then ends as ERROR {@code llm.http_400}.
 */
public final class PromptAssembler implements MapFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  /** Tokens a chat template adds around each message (role markers, separators). */
  static final int TOKENS_PER_MESSAGE = 4;

  private final String systemPrompt;
  private final int contextWindow;
  private final HashMap<String, List<Limit>> modelLimits;
  private final int defaultMaxTokens;
  private final double charsPerToken;

  /**
   * What one pool serving a model takes: its context window, and its longest prompt (0: the window
   * minus the answer's tokens).
   */
  public record Limit(int contextWindow, int maxPromptTokens) implements Serializable {}

  public PromptAssembler(
      String systemPrompt, int contextWindow, int defaultMaxTokens, double charsPerToken) {
    this(systemPrompt, contextWindow, Map.of(), defaultMaxTokens, charsPerToken);
  }

  /**
   * @param contextWindow the window of models {@code modelLimits} does not list
   * @param modelLimits the limits of the pools serving each model: a prompt fills the most that
   *     some pool takes, never more, so it is trimmed (fewer passages) rather than rejected
   */
  public PromptAssembler(
      String systemPrompt,
      int contextWindow,
      Map<String, List<Limit>> modelLimits,
      int defaultMaxTokens,
      double charsPerToken) {
    if (charsPerToken <= 0) {
      throw new IllegalArgumentException("charsPerToken must be positive, got " + charsPerToken);
    }
    this.systemPrompt = systemPrompt;
    this.contextWindow = contextWindow;
    this.modelLimits = new HashMap<>();
    modelLimits.forEach((model, limits) -> this.modelLimits.put(model, List.copyOf(limits)));
    this.defaultMaxTokens = defaultMaxTokens;
    this.charsPerToken = charsPerToken;
  }

  private List<Limit> limits(String model) {
    List<Limit> limits = model == null ? null : modelLimits.get(model);
    return limits == null || limits.isEmpty() ? List.of(new Limit(contextWindow, 0)) : limits;
  }

  /** The largest prompt some pool takes beside {@code maxTokens}; negative if none does. */
  private static int budget(List<Limit> limits, int maxTokens) {
    int budget = Integer.MIN_VALUE;
    for (Limit limit : limits) {
      int fits = limit.contextWindow() - maxTokens;
      if (limit.maxPromptTokens() > 0) {
        fits = Math.min(fits, limit.maxPromptTokens());
      }
      budget = Math.max(budget, fits);
    }
    return budget;
  }

  @Override
  public InFlightRequest map(InFlightRequest request) {
    if (Stages.isFinished(request)) {
      return request;
    }
    assemble(request);
    request.getTimings().setPromptMs(Stages.lap(request));
    return request;
  }

  /** The answer's token allowance: the request's maxTokens, else the default, within the window. */
  private int maxTokens(InferenceRequest request, int window) {
    return request.getMaxTokens() != null
        ? request.getMaxTokens()
        : Math.min(defaultMaxTokens, window / 2);
  }

  void assemble(InFlightRequest request) {
    InferenceRequest r = request.getRequest();
    List<Limit> limits = limits(request.getModel());
    int window = limits.stream().mapToInt(Limit::contextWindow).max().orElse(contextWindow);
    int maxTokens = maxTokens(r, window);
    if (maxTokens >= window) {
      Stages.fail(
          request,
          ResponseStatus.REJECTED,
          "validation.max_tokens",
          "maxTokens must be below "
              + window
              + ", the largest context window serving model '"
              + request.getModel()
              + "', got "
              + maxTokens,
          "prompt",
          false);
      return;
    }
    int budget = budget(limits, maxTokens);
    List<ChatMessage> conversation = new ArrayList<>(r.getMessages());
    if (conversation.isEmpty()) {
      conversation.add(new ChatMessage(ChatRole.USER, r.getPrompt(), null, null, List.of()));
    }
    List<ChatMessage> prompt = new ArrayList<>();
    if (request.getQuestion() == null) {
      prompt.addAll(conversation);
    } else {
      prompt.add(new ChatMessage(ChatRole.SYSTEM, systemPrompt, null, null, List.of()));
      int last = lastUserMessage(conversation);
      for (int i = 0; i < conversation.size(); i++) {
        if (i != last) {
          prompt.add(conversation.get(i));
        }
      }
    }
    int used = estimate(prompt);
    if (request.getQuestion() != null) {
      String question = "Question: " + request.getQuestion().strip().replaceAll("\\s+", " ");
      used += TOKENS_PER_MESSAGE + tokens("Context:\n\n" + question);
      StringBuilder context = new StringBuilder("Context:\n");
      List<Passage> cited = new ArrayList<>();
      for (Passage passage : request.getPassages()) {
        String entry = entry(cited.size() + 1, passage);
        int cost = tokens(entry);
        if (used + cost > budget) {
          break;
        }
        used += cost;
        context.append(entry);
        cited.add(passage);
      }
      if (!request.getDegraded().isEmpty()) {
        context.append("(none: the document search is unavailable)\n");
      }
      context.append('\n').append(question);
      prompt.add(new ChatMessage(ChatRole.USER, context.toString(), null, null, List.of()));
      request.setPassages(cited);
    }
    if (used > budget) {
      Stages.fail(
          request,
          ResponseStatus.REJECTED,
          "validation.prompt_too_long",
          "the prompt needs about "
              + used
              + " tokens, but only "
              + budget
              + " fit (context window "
              + window
              + ", maxTokens "
              + maxTokens
              + (budget < window - maxTokens ? ", the pools' maxPromptTokens" : "")
              + ")",
          "prompt",
          false);
      return;
    }
    request.setPrompt(prompt);
    request.setMaxTokens(maxTokens);
    request.setPromptTokensEstimate(used);
  }

  private static String entry(int number, Passage passage) {
    String title = passage.getTitle() == null ? "" : passage.getTitle() + ": ";
    return "[" + number + "] " + title + passage.getText().strip() + "\n";
  }

  private static int lastUserMessage(List<ChatMessage> conversation) {
    for (int i = conversation.size() - 1; i >= 0; i--) {
      if (conversation.get(i).getRole() == ChatRole.USER) {
        return i;
      }
    }
    return -1;
  }

  private int estimate(List<ChatMessage> messages) {
    int total = 0;
    for (ChatMessage message : messages) {
      total += TOKENS_PER_MESSAGE + tokens(message.getContent());
    }
    return total;
  }

  int tokens(String text) {
    return (int) Math.ceil(text.length() / charsPerToken);
  }
}
