package dev.streamrag.inference.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.ToolCall;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The loop's rules, with a scripted model: a stand-in for models that misbehave in ways llm-sim's
 * documented plan never does (calling a tool twice in one answer, asking for more calls than the
 * budget), named as such. The real model and real tools are AgentJobIT's.
 */
@Timeout(30)
class AgentLoopTest {
  private static final RunKeys KEYS = new RunKeys("t", "r1", 0);
  private static final AgentLoop.Budgets BUDGETS =
      new AgentLoop.Budgets(5, 6, 10_000, Duration.ofSeconds(5));

  /** A scripted model: answers in the order given, and records what it was sent. */
  private static final class Script implements AgentLoop.Llm {
    final Deque<AgentLoop.Answer> answers = new ArrayDeque<>();
    final List<List<ChatMessage>> sent = new ArrayList<>();
    final List<Integer> budgets = new ArrayList<>();

    Script then(AgentLoop.Answer answer) {
      answers.add(answer);
      return this;
    }

    @Override
    public synchronized CompletableFuture<AgentLoop.LlmResult> call(
        List<ChatMessage> messages, int tokensLeft) {
      budgets.add(tokensLeft);
      sent.add(messages);
      AgentLoop.Answer next = answers.poll();
      if (next == null) {
        next = text("out of script");
      }
      return CompletableFuture.completedFuture(
          AgentLoop.LlmResult.answered(next, "http://llm", "default", 0));
    }
  }

  /** A journal in memory, as Redis keeps it. */
  private static final class MemoryJournal implements AgentJournal {
    final Map<String, byte[]> entries = new ConcurrentHashMap<>();

    @Override
    public CompletableFuture<byte[]> read(String key) {
      return CompletableFuture.completedFuture(entries.get(key));
    }

    @Override
    public CompletableFuture<Void> write(String key, byte[] value) {
      entries.put(key, value);
      return CompletableFuture.completedFuture(null);
    }
  }

  private static AgentLoop.Answer text(String text) {
    return new AgentLoop.Answer(text, "stop", List.of(), 10, 5, null, 3.0);
  }

  private static AgentLoop.Answer calls(ToolCall... calls) {
    return new AgentLoop.Answer("", "tool_calls", List.of(calls), 10, 5, null, 3.0);
  }

  private static ToolCall call(String id, String name, String arguments) {
    return new ToolCall(id, name, arguments);
  }

  private static List<ChatMessage> question() {
    return List.of(new ChatMessage(ChatRole.USER, "What is 2 + 3?", null, null, List.of()));
  }

  private static AgentLoop.Outcome run(
      Script model, AgentLoop.Tools tools, AgentJournal journal, AgentLoop.Budgets budgets)
      throws Exception {
    return new AgentLoop(
            question(),
            model,
            tools,
            journal,
            budgets,
            System.currentTimeMillis() + 20_000,
            KEYS,
            AgentLoop.Progress.NONE)
        .run()
        .get(20, TimeUnit.SECONDS);
  }

  @Test
  void toolResultsGoBackToTheModelUntilItAnswers() throws Exception {
    Script model =
        new Script()
            .then(calls(call("c1", "compute", "{\"expression\":\"2 + 3\"}")))
            .then(text("The answer is 5."));
    List<String> keys = new ArrayList<>();
    AgentLoop.Outcome outcome =
        run(
            model,
            (call, key, timeout) -> {
              keys.add(key);
              return CompletableFuture.completedFuture(ToolResult.ok("5"));
            },
            AgentJournal.NONE,
            BUDGETS);

    assertThat(outcome.status()).isEqualTo(ResponseStatus.OK);
    assertThat(outcome.text()).isEqualTo("The answer is 5.");
    assertThat(outcome.steps()).hasSize(2);
    assertThat(outcome.steps().get(0).getToolCalls()).hasSize(1);
    assertThat(keys)
        .containsExactly(KEYS.idempotencyKey(0, 0, "compute", "{\"expression\":\"2 + 3\"}"));
    assertThat(keys.get(0)).matches("[0-9a-f]{16}:0:0:[0-9a-f]{8}");
    assertThat(new RunKeys("other", "r1", 0).idempotencyKey(0, 0, "compute", "{}"))
        .as("another tenant's request of the same id")
        .isNotEqualTo(KEYS.idempotencyKey(0, 0, "compute", "{}"));
    assertThat(model.budgets).containsExactly(10_000, 9_995);
    List<ChatMessage> second = model.sent.get(1);
    assertThat(second.get(1).getToolCalls()).extracting(ToolCall::getId).containsExactly("c1");
    assertThat(second.get(2).getRole()).isEqualTo(ChatRole.TOOL);
    assertThat(second.get(2).getToolCallId()).isEqualTo("c1");
    assertThat(second.get(2).getContent()).isEqualTo("5");
    assertThat(outcome.promptTokens()).isEqualTo(20);
    assertThat(outcome.completionTokens()).isEqualTo(10);
  }

  @Test
  void aStepsToolCallsRunConcurrently() throws Exception {
    Script model =
        new Script()
            .then(
                calls(
                    call("a", "lookup", "{\"name\":\"A\"}"),
                    call("b", "lookup", "{\"name\":\"B\"}")))
            .then(text("done"));
    CountDownLatch bothStarted = new CountDownLatch(2);
    AgentLoop.Outcome outcome =
        run(
            model,
            (call, key, timeout) ->
                CompletableFuture.supplyAsync(
                    () -> {
                      bothStarted.countDown();
                      try {
                        // Each call waits for the other to start: run one after the other, they
                        // would both time out here.
                        return bothStarted.await(5, TimeUnit.SECONDS)
                            ? ToolResult.ok("ok")
                            : ToolResult.failed(ToolResult.TIMEOUT, "alone");
                      } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                      }
                    }),
            AgentJournal.NONE,
            BUDGETS);
    assertThat(outcome.status()).isEqualTo(ResponseStatus.OK);
    assertThat(outcome.steps().get(0).getToolCalls()).allMatch(c -> c.getOk());
  }

  @Test
  void theSameCallTwiceEndsTheRunAsALoop() throws Exception {
    Script model =
        new Script()
            .then(calls(call("c1", "lookup", "{\"name\":\"Oslo\",\"tenant\":\"t\"}")))
            .then(calls(call("c2", "lookup", "{ \"tenant\": \"t\", \"name\": \"Oslo\" }")));
    AtomicInteger made = new AtomicInteger();
    AgentLoop.Outcome outcome =
        run(
            model,
            (call, key, timeout) -> {
              made.incrementAndGet();
              return CompletableFuture.completedFuture(ToolResult.ok("{}"));
            },
            AgentJournal.NONE,
            BUDGETS);
    assertThat(outcome.status()).isEqualTo(ResponseStatus.ERROR);
    assertThat(outcome.code()).isEqualTo("agent.repeated_call");
    assertThat(outcome.message()).contains("lookup").contains("step 2");
    assertThat(made).hasValue(1);
  }

  @Test
  void aFailedCallMayBeTriedAgain() throws Exception {
    Script model =
        new Script()
            .then(calls(call("c1", "lookup", "{\"name\":\"Oslo\"}")))
            .then(calls(call("c2", "lookup", "{\"name\":\"Oslo\"}")))
            .then(text("Oslo it is"));
    AtomicInteger made = new AtomicInteger();
    AgentLoop.Outcome outcome =
        run(
            model,
            (call, key, timeout) ->
                CompletableFuture.completedFuture(
                    made.incrementAndGet() == 1
                        ? ToolResult.failed(ToolResult.TIMEOUT, "slow")
                        : ToolResult.ok("{}")),
            AgentJournal.NONE,
            BUDGETS);
    assertThat(outcome.status()).isEqualTo(ResponseStatus.OK);
    assertThat(made).hasValue(2);
  }

  @Test
  void budgetsEndTheRunWithTheirCodes() throws Exception {
    Script steps = new Script();
    for (int i = 0; i < 10; i++) {
      steps.then(calls(call("c" + i, "compute", "{\"expression\":\"" + i + "\"}")));
    }
    AgentLoop.Tools ok =
        (call, key, timeout) -> CompletableFuture.completedFuture(ToolResult.ok("1"));
    AgentLoop.Outcome outOfSteps =
        run(
            steps,
            ok,
            AgentJournal.NONE,
            new AgentLoop.Budgets(3, 100, 10_000, Duration.ofSeconds(1)));
    assertThat(outOfSteps.code()).isEqualTo("agent.max_steps");
    assertThat(outOfSteps.steps()).hasSize(3);

    Script wide =
        new Script()
            .then(
                calls(
                    call("a", "x", "{\"n\":1}"),
                    call("b", "x", "{\"n\":2}"),
                    call("c", "x", "{\"n\":3}")));
    AgentLoop.Outcome tooManyCalls =
        run(
            wide,
            ok,
            AgentJournal.NONE,
            new AgentLoop.Budgets(5, 2, 10_000, Duration.ofSeconds(1)));
    assertThat(tooManyCalls.code()).isEqualTo("agent.max_tool_calls");

    Script chatty = new Script();
    for (int i = 0; i < 5; i++) {
      chatty.then(calls(call("c" + i, "compute", "{\"expression\":\"" + i + "\"}")));
    }
    AgentLoop.Outcome tokens =
        run(
            chatty,
            ok,
            AgentJournal.NONE,
            new AgentLoop.Budgets(5, 100, 12, Duration.ofSeconds(1)));
    assertThat(tokens.code()).isEqualTo("agent.token_budget");
  }

  @Test
  void aFailedToolIsToldToTheModelAndTheRunGoesOn() throws Exception {
    Script model =
        new Script()
            .then(calls(call("c1", "lookup", "{\"name\":\"Nowhere\"}")))
            .then(text("unknown"));
    AgentLoop.Outcome outcome =
        run(
            model,
            (call, key, timeout) ->
                CompletableFuture.completedFuture(
                    ToolResult.failed(ToolResult.TIMEOUT, "lookup did not answer within PT1S")),
            AgentJournal.NONE,
            BUDGETS);
    assertThat(outcome.status()).isEqualTo(ResponseStatus.OK);
    assertThat(outcome.toolErrors()).containsExactly(ToolResult.TIMEOUT);
    assertThat(model.sent.get(1).get(2).getContent())
        .isEqualTo("error (tool.timeout): lookup did not answer within PT1S");
  }

  @Test
  void aReplayTakesCompletedStepsFromTheJournal() throws Exception {
    MemoryJournal journal = new MemoryJournal();
    Script first =
        new Script()
            .then(calls(call("c1", "lookup", "{\"name\":\"A\"}")))
            .then(calls(call("c2", "lookup", "{\"name\":\"B\"}")))
            .then(text("A and B"));
    AtomicInteger made = new AtomicInteger();
    AgentLoop.Tools tools =
        (call, key, timeout) -> {
          made.incrementAndGet();
          return CompletableFuture.completedFuture(ToolResult.ok("fact of " + key));
        };
    AgentLoop.Outcome original = run(first, tools, journal, BUDGETS);
    assertThat(original.status()).isEqualTo(ResponseStatus.OK);
    assertThat(made).hasValue(2);
    assertThat(first.sent).hasSize(3);

    // As after a failover that lost the last step: its entry is gone, the earlier ones are kept.
    journal.entries.remove(KEYS.journalKey(2, "llm"));
    Script replay = new Script().then(text("A and B"));
    AgentLoop.Outcome again = run(replay, tools, journal, BUDGETS);

    assertThat(again.status()).isEqualTo(ResponseStatus.OK);
    assertThat(made).as("no tool call made again").hasValue(2);
    assertThat(replay.sent).as("only the lost step asks the model").hasSize(1);
    assertThat(again.replayedSteps()).isEqualTo(2);
    assertThat(again.steps().get(0).getToolCalls().get(0).getReplayed()).isTrue();
    assertThat(replay.sent.get(0))
        .extracting(ChatMessage::getContent)
        .contains("fact of " + KEYS.idempotencyKey(1, 0, "lookup", "{\"name\":\"B\"}"));
  }

  @Test
  void aJournaledResultAnswersOnlyTheCallItWasFor() throws Exception {
    MemoryJournal journal = new MemoryJournal();
    AgentLoop.Tools tools =
        (call, key, timeout) ->
            CompletableFuture.completedFuture(ToolResult.ok("fact of " + call.getArguments()));
    run(
        new Script().then(calls(call("c1", "lookup", "{\"name\":\"Paris\"}"))).then(text("ok")),
        tools,
        journal,
        BUDGETS);
    // As if the model's answer to step 0 had not been journaled, and the replayed step asked
    // for something else in the same place.
    journal.entries.remove(KEYS.journalKey(0, "llm"));
    journal.entries.remove(KEYS.journalKey(1, "llm"));
    Script replay =
        new Script().then(calls(call("c1", "lookup", "{\"name\":\"Berlin\"}"))).then(text("ok"));
    AgentLoop.Outcome again = run(replay, tools, journal, BUDGETS);
    assertThat(again.steps().get(0).getToolCalls().get(0).getReplayed()).isFalse();
    assertThat(replay.sent.get(1).get(2).getContent()).contains("Berlin").doesNotContain("Paris");
  }

  @Test
  void canonicalArgumentsIgnoreKeyOrderAndSpacing() {
    assertThat(AgentLoop.canonical("{\"b\": 1, \"a\": {\"y\": 2, \"x\": 3}}"))
        .isEqualTo(AgentLoop.canonical("{\"a\":{\"x\":3,\"y\":2},\"b\":1}"));
    assertThat(AgentLoop.canonical("not json ")).isEqualTo("not json");
  }
}
