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
 * <prefix>:<step>:llm}, each tool's result (with the tool and arguments it answered) under {@code
 * <prefix>:<step>:<call>} ({@link RunKeys}). A run replayed after a failover reads them back
 * instead of asking the model or calling the tool again; a call whose result was not journaled is
 * made again with the same idempotency key, so a tool server that remembers keys answers it without
 * acting twice.
 *
 * <p>A call identical to one that answered ok ends the run as {@code agent.repeated_call}; a failed
 * call may be tried again (the step budget bounds that). The model is never asked for more tokens
 * than the run's budget has left.
 *
 * <p>Steps run one after another on whichever thread completed the previous future, so the run's
 * state needs no locks; {@link #cancel()} may come from any thread.
 */
final class AgentLoop {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /** One step's call of the model. */
  interface Llm {
    /**
     * @param tokensLeft what the run's token budget has left: the call generates at most that
     */
    CompletableFuture<LlmResult> call(List<ChatMessage> messages, int tokensLeft);
  }

  /** One tool call, checked and bounded; never fails. */
  interface Tools {
    CompletableFuture<ToolResult> call(ToolCall call, String idempotencyKey, Duration timeout);
  }

  /** Told of each tool call as it starts and finishes (the pieces of a streaming client). */
  interface Progress {
    void started(int step, int call, ToolCall toolCall);

    void finished(int step, int call, ToolCall toolCall, ToolResult result, double millis);

    Progress NONE =
        new Progress() {
          @Override
          public void started(int step, int call, ToolCall toolCall) {}

          @Override
          public void finished(
              int step, int call, ToolCall toolCall, ToolResult result, double millis) {}
        };
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
  private final RunKeys keys;
  private final Progress progress;
  private final long startNanos = System.nanoTime();
  private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
  private final List<AgentStep> steps = new ArrayList<>();
  // Calls that answered ok: asking one of them again is a loop. A failed call may be retried.
  private final Set<String> answeredCalls = new HashSet<>();
  private final Set<String> toolErrors = new LinkedHashSet<>();
  private volatile boolean cancelled;
  private volatile CompletableFuture<?> current;
  // Whether the journal may hold this run's next steps. Steps are journaled in order, so once an
  // entry is missing, no later one exists (short of a failed write, after which a step is made
  // again with the same keys): a fresh run reads the journal once, not before every step.
  private volatile boolean replaying = true;
  private int promptTokens;
  private int completionTokens;
  private Integer cachedPromptTokens;
  private int toolCalls;
  private int replayedSteps;
  private double llmMillis;
  private double toolMillis;
  private String endpoint;
  private String pool;
  private int retries;

  /**
   * @param messages the conversation so far (system prompt first); the run appends to a copy
   * @param keys the request's journal entries and idempotency keys
   */
  AgentLoop(
      List<ChatMessage> messages,
      Llm llm,
      Tools tools,
      AgentJournal journal,
      Budgets budgets,
      long deadlineMillis,
      RunKeys keys,
      Progress progress) {
    this.progress = progress;
    this.messages = new ArrayList<>(messages);
    this.llm = llm;
    this.tools = tools;
    this.journal = journal;
    this.budgets = budgets;
    this.deadlineMillis = deadlineMillis;
    this.keys = keys;
  }

  /** Starts the run; the future never fails. */
  CompletableFuture<Outcome> run() {
    guarded(() -> step(0));
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

  /**
   * Runs a step of the loop, ending the run instead of losing it should it throw: a callback's
   * exception would otherwise vanish and the request wait for Flink's timeout.
   */
  private void guarded(Runnable part) {
    try {
      part.run();
    } catch (RuntimeException e) {
      end(
          ResponseStatus.ERROR,
          "internal.agent",
          "the agent loop failed: " + e.getClass().getSimpleName(),
          true);
    }
  }

  /** Keeps {@code future} as the one {@link #cancel()} stops; cancels it at once if too late. */
  private <T> CompletableFuture<T> track(CompletableFuture<T> future) {
    current = future;
    if (cancelled) {
      future.cancel(true);
    }
    return future;
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
    int tokensLeft = budgets.maxCompletionTokens() - completionTokens;
    if (tokensLeft <= 0) {
      end(
          ResponseStatus.ERROR,
          "agent.token_budget",
          "the model generated "
              + completionTokens
              + " tokens over "
              + step
              + " steps without answering (agent.max-completion-tokens "
              + budgets.maxCompletionTokens()
              + ")",
          false);
      return;
    }
    long stepStart = System.nanoTime();
    String llmKey = keys.journalKey(step, "llm");
    track(replaying ? journal.read(llmKey) : CompletableFuture.<byte[]>completedFuture(null))
        .whenComplete(
            (bytes, readError) ->
                guarded(
                    () -> {
                      if (cancelled) {
                        return;
                      }
                      Answer replayed = bytes == null ? null : decode(bytes);
                      if (replayed == null) {
                        replaying = false;
                      } else {
                        replayedSteps++;
                        onAnswer(step, stepStart, replayed, 0, true);
                        return;
                      }
                      long llmStart = System.nanoTime();
                      track(llm.call(List.copyOf(messages), tokensLeft))
                          .whenComplete(
                              (result, error) ->
                                  guarded(
                                      () ->
                                          onLlmResult(
                                              step,
                                              stepStart,
                                              llmKey,
                                              result,
                                              error,
                                              (System.nanoTime() - llmStart) / 1e6)));
                    }));
  }

  private void onLlmResult(
      int step, long stepStart, String llmKey, LlmResult result, Throwable error, double llmMs) {
    if (cancelled) {
      return;
    }
    if (error != null || result == null) {
      end(ResponseStatus.ERROR, "internal.agent", "the LLM call failed unexpectedly", true);
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
    track(journal.write(llmKey, encode(result.answer())))
        .whenComplete(
            (ok, e) -> guarded(() -> onAnswer(step, stepStart, result.answer(), llmMs, false)));
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
    List<String> signatures = new ArrayList<>();
    for (ToolCall call : answer.toolCalls()) {
      String signature = call.getName() + " " + canonical(call.getArguments());
      if (answeredCalls.contains(signature) || signatures.contains(signature)) {
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
                + ", which had answered: it would get the same answer, so it is looping",
            false);
        return;
      }
      signatures.add(signature);
    }
    toolCalls += answer.toolCalls().size();
    messages.add(
        new ChatMessage(ChatRole.ASSISTANT, answer.text(), null, null, answer.toolCalls()));
    List<CompletableFuture<CallDone>> calls = new ArrayList<>();
    for (int i = 0; i < answer.toolCalls().size(); i++) {
      calls.add(callTool(step, i, answer.toolCalls().get(i)));
    }
    track(CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)))
        .whenComplete(
            (done, error) ->
                guarded(
                    () -> {
                      if (cancelled) {
                        return;
                      }
                      // The calls ran at once: the step waited for the longest. Journal reads and
                      // writes around them are the loop's own time, counted as overhead.
                      double toolMs = 0;
                      List<ToolCallOutcome> outcomes = new ArrayList<>();
                      for (int i = 0; i < calls.size(); i++) {
                        CallDone call = calls.get(i).join();
                        ToolCall asked = answer.toolCalls().get(i);
                        toolMs = Math.max(toolMs, call.millis());
                        if (call.result().ok()) {
                          answeredCalls.add(signatures.get(i));
                        } else {
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
                      toolMillis += toolMs;
                      steps.add(
                          record(
                              llmMs,
                              toolMs,
                              overhead(stepStart, llmMs, toolMs),
                              replayed,
                              outcomes));
                      step(step + 1);
                    }));
  }

  private record CallDone(ToolResult result, double millis, boolean replayed) {}

  /**
   * One tool call: from the journal if this very call (same tool, same arguments, same place)
   * completed before, else made and journaled with its tool and arguments. Never fails.
   */
  private CompletableFuture<CallDone> callTool(int step, int index, ToolCall call) {
    told(() -> progress.started(step, index, call));
    return makeCall(step, index, call)
        .thenApply(
            done -> {
              told(() -> progress.finished(step, index, call, done.result(), done.millis()));
              return done;
            });
  }

  /** Progress is the listener's: its failure does not touch the run. */
  private static void told(Runnable tell) {
    try {
      tell.run();
    } catch (RuntimeException e) {
      // the listener's loss only
    }
  }

  private CompletableFuture<CallDone> makeCall(int step, int index, ToolCall call) {
    String key = keys.journalKey(step, Integer.toString(index));
    String arguments = canonical(call.getArguments());
    CompletableFuture<byte[]> journaled =
        replaying ? journal.read(key) : CompletableFuture.completedFuture(null);
    return journaled
        .thenCompose(
            bytes -> {
              ToolResult replayed =
                  bytes == null ? null : decodeResult(bytes, call.getName(), arguments);
              if (replayed == null) {
                replaying = false;
              } else {
                return CompletableFuture.completedFuture(new CallDone(replayed, 0, true));
              }
              long left = deadlineMillis - System.currentTimeMillis();
              if (cancelled || left <= 0) { // a call that could not be waited for is not made
                return CompletableFuture.completedFuture(
                    new CallDone(
                        ToolResult.failed(
                            ToolResult.TIMEOUT, "the request's deadline passed before the call"),
                        0,
                        false));
              }
              Duration timeout =
                  Duration.ofMillis(Math.min(budgets.toolTimeout().toMillis(), left));
              long start = System.nanoTime();
              return tools
                  .call(call, keys.idempotencyKey(step, index, call.getName(), arguments), timeout)
                  .thenCompose(
                      result -> {
                        double millis = (System.nanoTime() - start) / 1e6;
                        return journal
                            .write(key, encode(result, call.getName(), arguments))
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
    complete(
        ResponseStatus.OK, answer.text(), answer.finishReason(), null, null, false, ttftMillis);
  }

  private void end(ResponseStatus status, String code, String message, boolean retryable) {
    complete(status, null, null, code, message, retryable, null);
  }

  /** The run's outcome, with what every run reports: its steps, tokens, times, last endpoint. */
  private void complete(
      ResponseStatus status,
      String text,
      String finishReason,
      String code,
      String message,
      boolean retryable,
      Double ttftMillis) {
    double overheadMillis = steps.stream().mapToDouble(AgentStep::getOverheadMs).sum();
    outcome.complete(
        new Outcome(
            status,
            text,
            finishReason,
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
            ttftMillis,
            endpoint,
            pool,
            retries,
            toolCalls,
            replayedSteps));
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

  static byte[] encode(ToolResult result, String tool, String canonicalArguments) {
    ObjectNode node = JSON.createObjectNode();
    node.put("tool", tool);
    node.put("arguments", canonicalArguments);
    node.put("text", result.text());
    node.put("errorCode", result.errorCode());
    return node.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A journaled result, if it is this call's: the same tool with the same arguments. A replayed
   * step whose model answered otherwise (sampling, another endpoint) makes its calls afresh.
   */
  static ToolResult decodeResult(byte[] bytes, String tool, String canonicalArguments) {
    try {
      JsonNode node = JSON.readTree(bytes);
      if (!tool.equals(node.path("tool").asText(null))
          || !canonicalArguments.equals(node.path("arguments").asText(null))) {
        return null;
      }
      return new ToolResult(
          node.path("text").asText(""),
          node.hasNonNull("errorCode") ? node.get("errorCode").asText() : null);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
