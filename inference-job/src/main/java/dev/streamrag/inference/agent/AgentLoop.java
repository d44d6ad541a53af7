package dev.streamrag.inference.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.AgentStep;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.ToolCall;
import dev.streamrag.schemas.ToolCallOutcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * One agent request's loop: ask the model (offering the tools), run the tool calls it answers with,
 * concurrently, append their results, and ask again, until it answers in text or a budget is spent
 * (steps, tool calls, generated tokens, the request's deadline). A call identical to an earlier one
 * (same tool, same arguments) ends the run: the model would get the same answer and is looping.
 *
 * <p>Every completed step is journaled before the next begins: the model's answer under {@code
 * <prefix>:<step>:llm}, each tool's result under {@code <prefix>:<step>:<call>}. A run replayed
 * after a failover reads them back instead of asking the model or calling the tool again; a call
 * whose result was not journaled is made again with the same idempotency key {@code
 * requestId:step:call}, so a tool server that remembers keys answers it without acting twice.
 *
 * <p>Steps run one after another on whichever thread completed the previous future, so the run's
 * state needs no locks; {@link #cancel()} may come from any thread.
 */
final class AgentLoop {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** One step's call of the model. */
  interface Llm {
    CompletableFuture<LlmResult> call(List<ChatMessage> messages);
  }

  /** One tool call, checked and bounded; never fails. */
  interface Tools {
    CompletableFuture<ToolResult> call(ToolCall call, String idempotencyKey, Duration timeout);
  }

  /** The model's answer in one step. */
  record Answer(
      String text,
      String finishReason,
      List<ToolCall> toolCalls,
      int promptTokens,
      int completionTokens,
      Integer cachedPromptTokens,
      double ttftMillis) {}

  /**
   * How one LLM call ended: an answer, or a failure with the status it gives the request.
   *
   * @param endpoint the endpoint of the last attempt; pool and retries likewise
   */
  record LlmResult(
      Answer answer,
      ResponseStatus status,
      String code,
      String message,
      boolean retryable,
      String endpoint,
      String pool,
      int retries) {
    static LlmResult answered(Answer answer, String endpoint, String pool, int retries) {
      return new LlmResult(answer, ResponseStatus.OK, null, null, false, endpoint, pool, retries);
    }
  }

  /** What one request may spend. */
  record Budgets(int maxSteps, int maxToolCalls, int maxCompletionTokens, Duration toolTimeout) {}

  /**
   * How the run ended.
   *
   * @param status OK with {@code text}, or the failure's status with {@code code} and {@code
   *     message}
   * @param toolErrors the codes of the tool calls that did not end ok, in order, without repeats
   * @param answerTtftMillis from the run's start to the final answer's first token
   */
  record Outcome(
      ResponseStatus status,
      String text,
      String finishReason,
      String code,
      String message,
      boolean retryable,
      List<AgentStep> steps,
      int promptTokens,
      int completionTokens,
      Integer cachedPromptTokens,
      List<String> toolErrors,
      double llmMillis,
      double toolMillis,
      double overheadMillis,
      Double answerTtftMillis,
      String endpoint,
      String pool,
      int retries,
      int toolCalls,
      int replayedSteps) {}

  private final List<ChatMessage> messages;
  private final Llm llm;
  private final Tools tools;
  private final AgentJournal journal;
  private final Budgets budgets;
  private final long deadlineMillis;
  private final String journalPrefix;
  private final String requestId;
  private final long startNanos = System.nanoTime();
  private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
  private final List<AgentStep> steps = new ArrayList<>();
  private final Set<String> callsMade = new HashSet<>();
  private final Set<String> toolErrors = new LinkedHashSet<>();
  private volatile boolean cancelled;
  private volatile CompletableFuture<?> current;
  private int promptTokens;
  private int completionTokens;
  private Integer cachedPromptTokens;
  private int toolCalls;
  private int replayedSteps;
  private double llmMillis;
  private double toolMillis;
  private double overheadMillis;
  private String endpoint;
  private String pool;
  private int retries;

  /**
   * @param messages the conversation so far (system prompt first); the run appends to a copy
   * @param journalPrefix where this request's steps are journaled (unique per request)
   */
  AgentLoop(
      List<ChatMessage> messages,
      Llm llm,
      Tools tools,
      AgentJournal journal,
      Budgets budgets,
      long deadlineMillis,
      String journalPrefix,
      String requestId) {
    this.messages = new ArrayList<>(messages);
    this.llm = llm;
    this.tools = tools;
    this.journal = journal;
    this.budgets = budgets;
    this.deadlineMillis = deadlineMillis;
    this.journalPrefix = journalPrefix;
    this.requestId = requestId;
  }

  /** Starts the run; the future never fails. */
  CompletableFuture<Outcome> run() {
    step(0);
    return outcome;
  }

  /** Stops the run: no further call is made, and the call in flight is cancelled. */
  void cancel() {
    cancelled = true;
    CompletableFuture<?> inFlight = current;
    if (inFlight != null) {
      inFlight.cancel(true);
    }
  }

  private void step(int step) {
    if (cancelled) {
      return;
    }
    if (System.currentTimeMillis() >= deadlineMillis) {
      end(
          ResponseStatus.TIMEOUT,
          "agent.timeout",
          "the request's deadline passed after " + step + " steps",
          true);
      return;
    }
    if (step >= budgets.maxSteps()) {
      end(
          ResponseStatus.ERROR,
          "agent.max_steps",
          "the model had not answered after " + step + " steps (agent.max-steps)",
          false);
      return;
    }
    long stepStart = System.nanoTime();
    String llmKey = journalPrefix + ":" + step + ":llm";
    CompletableFuture<byte[]> journaled = journal.read(llmKey);
    current = journaled;
    journaled.whenComplete(
        (bytes, readError) -> {
          Answer replayed = bytes == null ? null : decode(bytes);
          if (replayed != null) {
            replayedSteps++;
            onAnswer(step, stepStart, replayed, 0, true);
            return;
          }
          long llmStart = System.nanoTime();
          CompletableFuture<LlmResult> call = llm.call(List.copyOf(messages));
          current = call;
          call.whenComplete(
              (result, error) -> {
                double llmMs = (System.nanoTime() - llmStart) / 1e6;
                if (cancelled) {
                  return;
                }
                if (error != null || result == null) {
                  end(
                      ResponseStatus.ERROR,
                      "internal.agent",
                      "the LLM call failed unexpectedly",
                      true);
                  return;
                }
                endpoint = result.endpoint();
                pool = result.pool();
                retries += result.retries();
                if (result.answer() == null) {
                  llmMillis += llmMs;
                  steps.add(record(llmMs, 0, overhead(stepStart, llmMs, 0), false, List.of()));
                  end(result.status(), result.code(), result.message(), result.retryable());
                  return;
                }
                // Journaled before the step goes on: a replay must not ask the model again.
                journal
                    .write(llmKey, encode(result.answer()))
                    .whenComplete(
                        (ok, e) -> onAnswer(step, stepStart, result.answer(), llmMs, false));
              });
        });
  }

  private void onAnswer(int step, long stepStart, Answer answer, double llmMs, boolean replayed) {
    if (cancelled) {
      return;
    }
    llmMillis += llmMs;
    promptTokens += answer.promptTokens();
    completionTokens += answer.completionTokens();
    if (answer.cachedPromptTokens() != null) {
      cachedPromptTokens =
          (cachedPromptTokens == null ? 0 : cachedPromptTokens) + answer.cachedPromptTokens();
    }
    if (answer.toolCalls().isEmpty()) {
      steps.add(record(llmMs, 0, overhead(stepStart, llmMs, 0), replayed, List.of()));
      double ttft =
          (System.nanoTime() - startNanos) / 1e6 - llmMs + Math.min(llmMs, answer.ttftMillis());
      finish(answer, ttft);
      return;
    }
    if (completionTokens > budgets.maxCompletionTokens()) {
      steps.add(record(llmMs, 0, overhead(stepStart, llmMs, 0), replayed, List.of()));
      end(
          ResponseStatus.ERROR,
          "agent.token_budget",
          "the model generated "
              + completionTokens
              + " tokens over "
              + (step + 1)
              + " steps without answering (agent.max-completion-tokens "
              + budgets.maxCompletionTokens()
              + ")",
          false);
      return;
    }
    if (toolCalls + answer.toolCalls().size() > budgets.maxToolCalls()) {
      steps.add(record(llmMs, 0, overhead(stepStart, llmMs, 0), replayed, List.of()));
      end(
          ResponseStatus.ERROR,
          "agent.max_tool_calls",
          "the model asked for "
              + (toolCalls + answer.toolCalls().size())
              + " tool calls, more than agent.max-tool-calls ("
              + budgets.maxToolCalls()
              + ")",
          false);
      return;
    }
    for (ToolCall call : answer.toolCalls()) {
      if (!callsMade.add(call.getName() + " " + canonical(call.getArguments()))) {
        steps.add(record(llmMs, 0, overhead(stepStart, llmMs, 0), replayed, List.of()));
        end(
            ResponseStatus.ERROR,
            "agent.repeated_call",
            "the model called "
                + call.getName()
                + " again with the same arguments "
                + abbreviate(call.getArguments())
                + " in step "
                + (step + 1)
                + ": it would get the same answer, so it is looping",
            false);
        return;
      }
    }
    toolCalls += answer.toolCalls().size();
    messages.add(
        new ChatMessage(ChatRole.ASSISTANT, answer.text(), null, null, answer.toolCalls()));
    long toolsStart = System.nanoTime();
    List<CompletableFuture<CallDone>> calls = new ArrayList<>();
    for (int i = 0; i < answer.toolCalls().size(); i++) {
      calls.add(callTool(step, i, answer.toolCalls().get(i)));
    }
    CompletableFuture<Void> all = CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
    current = all;
    all.whenComplete(
        (done, error) -> {
          if (cancelled) {
            return;
          }
          double toolMs = (System.nanoTime() - toolsStart) / 1e6;
          toolMillis += toolMs;
          List<ToolCallOutcome> outcomes = new ArrayList<>();
          for (int i = 0; i < calls.size(); i++) {
            CallDone call = calls.get(i).join();
            ToolCall asked = answer.toolCalls().get(i);
            if (!call.result().ok()) {
              toolErrors.add(call.result().errorCode());
            }
            outcomes.add(
                new ToolCallOutcome(
                    asked.getName(),
                    call.result().ok(),
                    call.result().errorCode(),
                    call.millis(),
                    call.replayed()));
            messages.add(
                new ChatMessage(
                    ChatRole.TOOL,
                    call.result().forModel(),
                    asked.getName(),
                    asked.getId(),
                    List.of()));
          }
          steps.add(record(llmMs, toolMs, overhead(stepStart, llmMs, toolMs), replayed, outcomes));
          step(step + 1);
        });
  }

  private record CallDone(ToolResult result, double millis, boolean replayed) {}

  /** One tool call: from the journal if it completed before, else made and journaled. */
  private CompletableFuture<CallDone> callTool(int step, int index, ToolCall call) {
    String key = journalPrefix + ":" + step + ":" + index;
    return journal
        .read(key)
        .thenCompose(
            bytes -> {
              ToolResult replayed = bytes == null ? null : decodeResult(bytes);
              if (replayed != null) {
                return CompletableFuture.completedFuture(new CallDone(replayed, 0, true));
              }
              long start = System.nanoTime();
              long left = deadlineMillis - System.currentTimeMillis();
              Duration timeout =
                  Duration.ofMillis(Math.max(1, Math.min(budgets.toolTimeout().toMillis(), left)));
              return tools
                  .call(call, requestId + ":" + step + ":" + index, timeout)
                  .thenCompose(
                      result -> {
                        double millis = (System.nanoTime() - start) / 1e6;
                        return journal
                            .write(key, encode(result))
                            .thenApply(ok -> new CallDone(result, millis, false));
                      });
            })
        .exceptionally(
            error ->
                new CallDone(
                    ToolResult.failed(ToolResult.UNAVAILABLE, "the call failed: " + error),
                    0,
                    false));
  }

  private static AgentStep record(
      double llmMs,
      double toolMs,
      double overheadMs,
      boolean replayed,
      List<ToolCallOutcome> calls) {
    return new AgentStep(llmMs, toolMs, overheadMs, replayed, calls);
  }

  private static double overhead(long stepStart, double llmMs, double toolMs) {
    return Math.max(0, (System.nanoTime() - stepStart) / 1e6 - llmMs - toolMs);
  }

  private void finish(Answer answer, double ttftMillis) {
    sumOverhead();
    outcome.complete(
        new Outcome(
            ResponseStatus.OK,
            answer.text(),
            answer.finishReason(),
            null,
            null,
            false,
            List.copyOf(steps),
            promptTokens,
            completionTokens,
            cachedPromptTokens,
            List.copyOf(toolErrors),
            llmMillis,
            toolMillis,
            overheadMillis,
            ttftMillis,
            endpoint,
            pool,
            retries,
            toolCalls,
            replayedSteps));
  }

  private void end(ResponseStatus status, String code, String message, boolean retryable) {
    sumOverhead();
    outcome.complete(
        new Outcome(
            status,
            null,
            null,
            code,
            message,
            retryable,
            List.copyOf(steps),
            promptTokens,
            completionTokens,
            cachedPromptTokens,
            List.copyOf(toolErrors),
            llmMillis,
            toolMillis,
            overheadMillis,
            null,
            endpoint,
            pool,
            retries,
            toolCalls,
            replayedSteps));
  }

  private void sumOverhead() {
    overheadMillis = steps.stream().mapToDouble(AgentStep::getOverheadMs).sum();
  }

  /** Arguments compared as JSON values: key order and spacing do not make a call new. */
  static String canonical(String arguments) {
    try {
      Object value = JSON.readValue(arguments, Object.class);
      return JSON.writeValueAsString(sorted(value));
    } catch (IOException e) {
      return arguments.strip();
    }
  }

  @SuppressWarnings("unchecked")
  private static Object sorted(Object value) {
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> sorted = new TreeMap<>();
      ((Map<String, Object>) map).forEach((k, v) -> sorted.put(k, sorted(v)));
      return sorted;
    }
    if (value instanceof List<?> list) {
      return list.stream().map(AgentLoop::sorted).toList();
    }
    return value;
  }

  private static String abbreviate(String text) {
    return text.length() <= 200 ? text : text.substring(0, 200) + "...";
  }

  static byte[] encode(Answer answer) {
    ObjectNode node = JSON.createObjectNode();
    node.put("text", answer.text());
    node.put("finishReason", answer.finishReason());
    node.put("promptTokens", answer.promptTokens());
    node.put("completionTokens", answer.completionTokens());
    if (answer.cachedPromptTokens() != null) {
      node.put("cachedPromptTokens", answer.cachedPromptTokens());
    }
    node.put("ttftMillis", answer.ttftMillis());
    ArrayNode calls = node.putArray("toolCalls");
    for (ToolCall call : answer.toolCalls()) {
      calls
          .addObject()
          .put("id", call.getId())
          .put("name", call.getName())
          .put("arguments", call.getArguments());
    }
    return node.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A journaled answer; null when the entry cannot be read (the step is then made again). */
  static Answer decode(byte[] bytes) {
    try {
      JsonNode node = JSON.readTree(bytes);
      List<ToolCall> calls = new ArrayList<>();
      for (JsonNode call : node.path("toolCalls")) {
        calls.add(
            new ToolCall(
                call.path("id").asText(),
                call.path("name").asText(),
                call.path("arguments").asText()));
      }
      return new Answer(
          node.path("text").asText(""),
          node.path("finishReason").asText(null),
          calls,
          node.path("promptTokens").asInt(),
          node.path("completionTokens").asInt(),
          node.hasNonNull("cachedPromptTokens") ? node.get("cachedPromptTokens").asInt() : null,
          node.path("ttftMillis").asDouble());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  static byte[] encode(ToolResult result) {
    ObjectNode node = JSON.createObjectNode();
    node.put("text", result.text());
    node.put("errorCode", result.errorCode());
    return node.toString().getBytes(StandardCharsets.UTF_8);
  }

  static ToolResult decodeResult(byte[] bytes) {
    try {
      JsonNode node = JSON.readTree(bytes);
      return new ToolResult(
          node.path("text").asText(""),
          node.hasNonNull("errorCode") ? node.get("errorCode").asText() : null);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
