package dev.streamrag.inference.agent;

import dev.streamrag.inference.Stages;
import dev.streamrag.inference.llm.GenerateAnswer;
import dev.streamrag.inference.llm.LlmCallers;
import dev.streamrag.inference.pieces.PieceCounters;
import dev.streamrag.inference.pieces.RequestPieces;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.llm.AttemptListener;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.ChatCompletion;
import dev.streamrag.jobs.llm.LlmOutcome;
import dev.streamrag.jobs.llm.ToolDefinition;
import dev.streamrag.jobs.llm.pools.PoolPlacement;
import dev.streamrag.jobs.llm.pools.PooledChatCaller;
import dev.streamrag.jobs.pieces.AnswerStream;
import dev.streamrag.jobs.pieces.PieceMetrics;
import dev.streamrag.jobs.pieces.PiecePublisher;
import dev.streamrag.jobs.pieces.PieceSettings;
import dev.streamrag.schemas.AgentRun;
import dev.streamrag.schemas.CacheHitKind;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.TokenUsage;
import dev.streamrag.schemas.ToolCall;
import dev.streamrag.schemas.ToolProgress;
import dev.streamrag.schemas.internal.InFlightRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * The agent stage, in Flink's Async I/O: runs each AGENT request's {@link AgentLoop} (the model on
 * the LLM pools, tools from the {@link ToolBox}) and finishes the request with the answer and every
 * step, or with the status and reason the loop ended on. Requests in flight are Flink's (the async
 * operator's queue, in every checkpoint); after a failover a restored request runs again and takes
 * its completed steps from the journal.
 */
public final class RunAgent extends RichAsyncFunction<InFlightRequest, InFlightRequest>
    implements CheckpointedFunction {
  private static final long serialVersionUID = 1L;
  private static final String STAGE = "agent";
  private static final int TOKENS_PER_MESSAGE = 4;

  private final AgentSettings settings;
  private final GenerateAnswer.Settings llm;
  private final PieceSettings pieces;
  private transient PiecePublisher publisher;
  private transient PieceMetrics pieceMetrics;
  private transient PooledChatCaller caller;
  private transient ToolBox toolBox;
  private transient AgentJournal journal;
  // By identity, as Flink hands timeout() the same object.
  private transient Map<InFlightRequest, Run> running;
  private transient Counter runs;
  private transient Counter steps;
  private transient Counter replayedSteps;
  private transient Counter toolCalls;
  private transient Counter toolErrors;
  private transient Counter failures;

  /** One request in this stage: whoever settles it first (its loop, or the timeout) answers. */
  private static final class Run {
    final AtomicBoolean settled = new AtomicBoolean();
    volatile AgentLoop loop;
    AnswerStream stream; // guarded by this: the run's generation of pieces, if streaming

    void cancel() {
      AgentLoop current = loop;
      if (current != null) {
        current.cancel();
      }
    }
  }

  /**
   * @param pieces where to publish each run's progress (a TOOL piece as each call starts and ends)
   *     and its answer, or null to publish none here (the finish stage then publishes the answer)
   */
  public RunAgent(AgentSettings settings, GenerateAnswer.Settings llm, PieceSettings pieces) {
    this.settings = settings;
    this.llm = llm;
    this.pieces = pieces;
  }

  /** Pieces handed to Kafka before this checkpoint are acknowledged before it completes. */
  @Override
  public void snapshotState(FunctionSnapshotContext context) {
    if (publisher != null) {
      publisher.flush();
    }
  }

  @Override
  public void initializeState(FunctionInitializationContext context) {
    // No state: requests in flight are the async operator's, their steps the journal's.
  }

  @Override
  public void open(Configuration parameters) {
    caller = LlmCallers.open(llm, getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks());
    List<AgentTool> builtIn = new ArrayList<>();
    if (settings.opensearch() != null) {
      builtIn.add(
          new SearchDocumentsTool(
              EmbeddingModelSpec.bundled(settings.embeddingModel()),
              settings.opensearch(),
              settings.index(),
              settings.searchTimeout()));
    }
    toolBox =
        new ToolBox(
            builtIn,
            settings.mcpServers().stream()
                .map(spec -> McpServerTools.parse(spec, settings.toolTimeout()))
                .toList(),
            ToolAccess.parse(settings.tenantTools()),
            settings.maxToolResultChars());
    toolBox.refresh(); // lists the servers' tools while the job starts, not on the first request
    journal =
        settings.redis() == null
            ? AgentJournal.NONE
            : AgentJournal.redis(
                settings.redis(), settings.journalTimeout(), settings.journalTtl());
    running = Collections.synchronizedMap(new IdentityHashMap<>());
    var group = getRuntimeContext().getMetricGroup().addGroup("agent");
    runs = group.counter("runs");
    steps = group.counter("steps");
    replayedSteps = group.counter("replayedSteps");
    toolCalls = group.counter("toolCalls");
    toolErrors = group.counter("toolErrors");
    failures = group.counter("failures");
    group.gauge("inFlight", () -> running.size());
    if (pieces != null) {
      publisher = PiecePublisher.acquire(pieces);
      pieceMetrics = new PieceCounters(getRuntimeContext().getMetricGroup());
    }
  }

  @Override
  public void close() {
    if (running != null) {
      synchronized (running) {
        for (Run run : running.values()) {
          // Settled without an answer: the restored request answers, in a newer generation.
          if (run.settled.compareAndSet(false, true)) {
            run.cancel();
            synchronized (run) {
              if (run.stream != null) {
                run.stream.abandon();
              }
            }
          }
        }
        running.clear();
      }
    }
    if (publisher != null) {
      publisher.release();
      publisher = null;
    }
    if (caller != null) {
      caller.close();
      caller = null;
    }
    if (toolBox != null) {
      toolBox.close();
      toolBox = null;
    }
    if (journal != null) {
      journal.close();
      journal = null;
    }
  }

  @Override
  public void asyncInvoke(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    if (Stages.isFinished(request)) {
      result.complete(List.of(request));
      return;
    }
    Run run = new Run();
    running.put(request, run);
    // Tools of servers not reached yet are listed first (at most one attempt per server every
    // few seconds); a server that refuses connections answers at once.
    toolBox
        .refresh()
        .whenComplete(
            (listed, error) -> {
              try {
                start(request, run, result);
              } catch (RuntimeException e) {
                if (!settle(request, run)) {
                  return;
                }
                failures.inc();
                request.getTimings().setLlmMs(Stages.lap(request));
                result.complete(
                    List.of(
                        Stages.fail(
                            request,
                            ResponseStatus.ERROR,
                            "internal.agent",
                            "the agent stage could not run the request: "
                                + e.getClass().getSimpleName(),
                            STAGE,
                            true)));
              }
            });
  }

  /** Whether this call settles the request (the other party then does nothing). */
  private boolean settle(InFlightRequest request, Run run) {
    if (!run.settled.compareAndSet(false, true)) {
      return false;
    }
    running.remove(request);
    return true;
  }

  private void start(InFlightRequest request, Run run, ResultFuture<InFlightRequest> result) {
    InferenceRequest r = request.getRequest();
    ToolBox.Offer offer = toolBox.offer(r.getTenantId(), r.getTools());
    if (offer.rejected()) {
      if (!settle(request, run)) {
        return;
      }
      request.getTimings().setLlmMs(Stages.lap(request));
      boolean unavailable = offer.rejectCode().equals("agent.tools_unavailable");
      result.complete(
          List.of(
              Stages.fail(
                  request,
                  unavailable ? ResponseStatus.ERROR : ResponseStatus.REJECTED,
                  offer.rejectCode(),
                  offer.reason(),
                  STAGE,
                  unavailable)));
      return;
    }
    List<ToolDefinition> definitions = offer.definitions();
    runs.inc();
    if (publisher != null) {
      synchronized (run) {
        if (run.settled.get()) {
          return;
        }
        run.stream =
            RequestPieces.open(
                publisher,
                request,
                List.of(),
                CacheHitKind.NONE,
                pieceMetrics,
                request.getLastGeneration());
      }
    }
    AgentLoop loop =
        new AgentLoop(
            conversation(r),
            (messages, tokensLeft) -> callModel(request, messages, tokensLeft, definitions),
            (call, key, timeout) -> toolBox.call(offer, call, r.getTenantId(), key, timeout),
            journal,
            new AgentLoop.Budgets(
                settings.maxSteps(),
                settings.maxToolCalls(),
                settings.maxCompletionTokens(),
                settings.toolTimeout()),
            request.getDeadline(),
            new RunKeys(r.getTenantId(), r.getRequestId(), request.getCreatedAt()),
            progress(run));
    run.loop = loop;
    if (run.settled.get()) {
      return; // timed out while the tools were listed
    }
    loop.run()
        .whenComplete(
            (outcome, error) -> {
              if (!settle(request, run)) {
                return; // timeout() answered it already
              }
              try {
                if (error != null) {
                  throw new IllegalStateException(error);
                }
                finish(request, outcome, offer);
                publishEnd(run, request, outcome);
              } catch (RuntimeException e) {
                failures.inc();
                Stages.fail(
                    request,
                    ResponseStatus.ERROR,
                    "internal.agent",
                    "the agent stage could not finish the request",
                    STAGE,
                    true);
              }
              result.complete(List.of(request));
            });
  }

  /** Each tool call as a TOOL piece of the run's generation, when streaming. */
  private static AgentLoop.Progress progress(Run run) {
    return new AgentLoop.Progress() {
      @Override
      public void started(int step, int call, ToolCall toolCall) {
        tell(run, new ToolProgress(step, call, toolCall.getName(), false, null, null, null));
      }

      @Override
      public void finished(
          int step, int call, ToolCall toolCall, ToolResult result, double millis) {
        tell(
            run,
            new ToolProgress(
                step, call, toolCall.getName(), true, result.ok(), result.errorCode(), millis));
      }
    };
  }

  private static void tell(Run run, ToolProgress progress) {
    synchronized (run) {
      if (run.stream != null && !run.settled.get()) {
        run.stream.tool(progress);
      }
    }
  }

  /** The answer (or why there is none) and END on the run's generation, when streaming. */
  private static void publishEnd(Run run, InFlightRequest request, AgentLoop.Outcome outcome) {
    synchronized (run) {
      if (run.stream == null) {
        return;
      }
      if (outcome.status() == ResponseStatus.OK && outcome.text() != null) {
        run.stream.whole(outcome.text(), outcome.completionTokens());
      }
      request.setLastGeneration(run.stream.generation());
      RequestPieces.end(run.stream, request, request.getResponse());
    }
  }

  /** The system prompt, then the request's conversation (or its prompt as the user's message). */
  private List<ChatMessage> conversation(InferenceRequest r) {
    List<ChatMessage> messages = new ArrayList<>();
    boolean ownSystem =
        !r.getMessages().isEmpty() && r.getMessages().get(0).getRole() == ChatRole.SYSTEM;
    if (!ownSystem && !settings.systemPrompt().isBlank()) {
      messages.add(
          new ChatMessage(ChatRole.SYSTEM, settings.systemPrompt(), null, null, List.of()));
    }
    if (r.getMessages().isEmpty()) {
      messages.add(new ChatMessage(ChatRole.USER, r.getPrompt(), null, null, List.of()));
    } else {
      messages.addAll(r.getMessages());
    }
    return messages;
  }

  private CompletableFuture<AgentLoop.LlmResult> callModel(
      InFlightRequest request,
      List<ChatMessage> messages,
      int tokensLeft,
      List<ToolDefinition> tools) {
    InferenceRequest r = request.getRequest();
    int maxTokens =
        Math.min(
            tokensLeft, r.getMaxTokens() == null ? settings.defaultMaxTokens() : r.getMaxTokens());
    PoolPlacement.Decision placement =
        caller.place(
            new PoolPlacement.Request(
                request.getModel(), r.getKind(), estimate(messages, tools), maxTokens));
    if (!placement.placed()) {
      // Placed once, a conversation only grows: what no longer fits after tool results is the
      // run's doing, not the request's.
      boolean midRun = messages.stream().anyMatch(m -> m.getRole() == ChatRole.TOOL);
      return CompletableFuture.completedFuture(
          new AgentLoop.LlmResult(
              null,
              midRun ? ResponseStatus.ERROR : ResponseStatus.REJECTED,
              midRun ? "agent.context_exhausted" : placement.rejectCode(),
              midRun
                  ? "the conversation outgrew every pool serving "
                      + request.getModel()
                      + " with its tool results: "
                      + placement.reason()
                  : placement.reason(),
              false,
              null,
              null,
              0));
    }
    ChatCall call =
        new ChatCall(
            request.getModel(),
            messages,
            maxTokens,
            r.getTemperature(),
            r.getTopP(),
            r.getSeed(),
            r.getStop(),
            llm.ignoreEos(),
            tools);
    CompletableFuture<PooledChatCaller.Pooled> pooled =
        caller.call(placement, call, request.getDeadline(), AttemptListener.NONE);
    CompletableFuture<AgentLoop.LlmResult> result = pooled.thenApply(RunAgent::resultOf);
    // Cancelling the loop's future (timeout, close) must stop the stream, not only the callback.
    result.whenComplete(
        (answer, error) -> {
          if (result.isCancelled()) {
            pooled.cancel(true);
          }
        });
    return result;
  }

  private static AgentLoop.LlmResult resultOf(PooledChatCaller.Pooled done) {
    LlmOutcome outcome = done.outcome();
    String pool = done.pool().name();
    if (!outcome.ok()) {
      return new AgentLoop.LlmResult(
          null,
          outcome.timedOut() ? ResponseStatus.TIMEOUT : ResponseStatus.ERROR,
          outcome.failure().code(),
          outcome.failure().getMessage(),
          outcome.failure().retryable(),
          outcome.endpoint(),
          pool,
          done.retries());
    }
    ChatCompletion c = outcome.completion();
    return AgentLoop.LlmResult.answered(
        new AgentLoop.Answer(
            c.text(),
            c.finishReason(),
            c.toolCalls(),
            c.promptTokens(),
            c.completionTokens(),
            c.cachedPromptTokens(),
            c.ttftMillis()),
        outcome.endpoint(),
        pool,
        done.retries());
  }

  private int estimate(List<ChatMessage> messages, List<ToolDefinition> tools) {
    long chars = 0;
    for (ChatMessage message : messages) {
      chars += message.getContent().length() + TOKENS_PER_MESSAGE * settings.charsPerToken();
      for (var call : message.getToolCalls()) {
        chars += call.getName().length() + call.getArguments().length();
      }
    }
    for (ToolDefinition tool : tools) {
      chars += tool.name().length() + tool.description().length() + tool.parametersJson().length();
    }
    return (int) Math.min(Integer.MAX_VALUE, Math.ceil(chars / settings.charsPerToken()));
  }

  private void finish(InFlightRequest request, AgentLoop.Outcome outcome, ToolBox.Offer offer) {
    request.getTimings().setLlmMs(Stages.lap(request));
    request.getTimings().setToolMs(outcome.toolMillis());
    request.getTimings().setAgentOverheadMs(outcome.overheadMillis());
    request.getTimings().setTtftMs(outcome.answerTtftMillis());
    steps.inc(outcome.steps().size());
    replayedSteps.inc(outcome.replayedSteps());
    toolCalls.inc(outcome.toolCalls());
    long failedCalls =
        outcome.steps().stream()
            .flatMap(step -> step.getToolCalls().stream())
            .filter(call -> !call.getOk())
            .count();
    toolErrors.inc(failedCalls);
    AgentRun run = new AgentRun(outcome.steps());
    TokenUsage usage =
        outcome.steps().isEmpty() && outcome.completionTokens() == 0
            ? null
            : new TokenUsage(
                outcome.promptTokens(), outcome.completionTokens(), outcome.cachedPromptTokens());
    if (outcome.status() != ResponseStatus.OK) {
      failures.inc();
      Stages.fail(
          request, outcome.status(), outcome.code(), outcome.message(), STAGE, outcome.retryable());
      InferenceResponse response = request.getResponse();
      response.setAgent(run);
      response.setUsage(usage);
      response.setLlmEndpoint(outcome.endpoint());
      response.setLlmPool(outcome.pool());
      response.setRetries(outcome.retries());
      return;
    }
    List<String> degraded = new ArrayList<>(request.getDegraded());
    for (String code : outcome.toolErrors()) {
      if (!degraded.contains(code)) {
        degraded.add(code);
      }
    }
    // Offered every tool the tenant may use, it got fewer: a server's tools could not be listed.
    if (request.getRequest().getTools().isEmpty()
        && !offer.unavailable().isEmpty()
        && !degraded.contains(ToolResult.UNAVAILABLE)) {
      degraded.add(ToolResult.UNAVAILABLE);
    }
    request.setDegraded(degraded);
    request.setResponse(
        Stages.response(request, ResponseStatus.OK)
            .setText(outcome.text())
            .setFinishReason(outcome.finishReason())
            .setUsage(usage)
            .setLlmEndpoint(outcome.endpoint())
            .setLlmPool(outcome.pool())
            .setRetries(outcome.retries())
            .setAgent(run)
            .build());
  }

  /** Flink's async timeout, past every deadline the loop keeps: the run stops, TIMEOUT. */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    Run run = running.get(request);
    if (run == null || !settle(request, run)) {
      return; // its outcome completed it
    }
    run.cancel();
    synchronized (run) {
      if (run.stream != null) {
        run.stream.abandon(); // the finish stage publishes a newer generation ending TIMEOUT
        request.setLastGeneration(run.stream.generation());
      }
    }
    request.getTimings().setLlmMs(Stages.lap(request));
    Stages.fail(
        request,
        ResponseStatus.TIMEOUT,
        "agent.timeout",
        "the agent loop outlived the job's async timeout",
        STAGE,
        true);
    result.complete(List.of(request));
  }
}
