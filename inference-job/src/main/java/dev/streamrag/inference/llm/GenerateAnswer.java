package dev.streamrag.inference.llm;

import dev.streamrag.inference.Stages;
import dev.streamrag.jobs.llm.ChatCall;
import dev.streamrag.jobs.llm.ChatCompletion;
import dev.streamrag.jobs.llm.EndpointRouter;
import dev.streamrag.jobs.llm.LlmOutcome;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.jobs.llm.RoutedChatCaller;
import dev.streamrag.jobs.llm.RoutingPolicy;
import dev.streamrag.jobs.llm.StreamingChatClient;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.TokenUsage;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.schemas.internal.Passage;
import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * The LLM stage, in Flink's Async I/O: streams each prompt from an OpenAI-compatible endpoint
 * ({@link RoutedChatCaller}: routing, retries within the deadline), and finishes the request with
 * the answer, its citations, usage and TTFT/TPOT; or with ERROR or TIMEOUT and the reason. Should
 * Flink's own async timeout fire first, the call is cancelled (closing its stream) and the request
 * still ends as TIMEOUT, never as a failed job.
 */
public final class GenerateAnswer extends RichAsyncFunction<InFlightRequest, InFlightRequest> {
  private static final long serialVersionUID = 1L;

  /** Everything the stage needs to know about the LLM endpoints. */
  public record Settings(
      List<String> endpoints,
      RoutingPolicy routing,
      RetryPolicy retry,
      Duration attemptTimeout,
      String apiKey)
      implements Serializable {}

  private final Settings settings;
  private transient RoutedChatCaller caller;
  private transient Map<String, CompletableFuture<LlmOutcome>> inFlight;
  private transient Counter retries;
  private transient Counter timeouts;
  private transient Counter errors;

  public GenerateAnswer(Settings settings) {
    this.settings = settings;
  }

  @Override
  public void open(Configuration parameters) {
    List<URI> endpoints = settings.endpoints().stream().map(URI::create).toList();
    caller =
        new RoutedChatCaller(
            StreamingChatClient.builder().apiKey(settings.apiKey()).build(),
            new EndpointRouter(endpoints, settings.routing()),
            settings.retry(),
            settings.attemptTimeout());
    inFlight = new ConcurrentHashMap<>();
    var group = getRuntimeContext().getMetricGroup().addGroup("llm");
    retries = group.counter("retries");
    timeouts = group.counter("timeouts");
    errors = group.counter("errors");
    group.gauge("inFlight", () -> inFlight.size());
    for (EndpointRouter.Endpoint endpoint : caller.router().endpoints()) {
      group
          .addGroup("endpoint", endpoint.baseUrl().getAuthority())
          .gauge("outstanding", endpoint::outstanding);
    }
  }

  @Override
  public void asyncInvoke(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    if (Stages.isFinished(request)) {
      result.complete(List.of(request));
      return;
    }
    String id = request.getRequest().getRequestId();
    CompletableFuture<LlmOutcome> call = caller.call(chatCall(request), request.getDeadline());
    inFlight.put(id, call);
    call.whenComplete(
        (outcome, error) -> {
          inFlight.remove(id, call);
          if (outcome != null) {
            finish(request, outcome);
            result.complete(List.of(request));
          }
          // else: cancelled by timeout(), which has answered already
        });
  }

  /** Flink's async timeout: the request ends as TIMEOUT and its call is stopped. */
  @Override
  public void timeout(InFlightRequest request, ResultFuture<InFlightRequest> result) {
    CompletableFuture<LlmOutcome> call = inFlight.remove(request.getRequest().getRequestId());
    if (call != null) {
      call.cancel(true);
    }
    request.getTimings().setLlmMs(Stages.lap(request));
    timeouts.inc();
    result.complete(
        List.of(
            Stages.fail(
                request,
                ResponseStatus.TIMEOUT,
                "llm.timeout",
                "the LLM call outlived the job's async timeout",
                "llm",
                true)));
  }

  private ChatCall chatCall(InFlightRequest request) {
    InferenceRequest r = request.getRequest();
    return new ChatCall(
        request.getModel(),
        request.getPrompt(),
        request.getMaxTokens(),
        r.getTemperature(),
        r.getTopP(),
        r.getSeed(),
        r.getStop());
  }

  private void finish(InFlightRequest request, LlmOutcome outcome) {
    request.getTimings().setLlmMs(Stages.lap(request));
    retries.inc(outcome.retries());
    if (!outcome.ok()) {
      if (outcome.timedOut()) {
        timeouts.inc();
      } else {
        errors.inc();
      }
      Stages.fail(
          request,
          outcome.timedOut() ? ResponseStatus.TIMEOUT : ResponseStatus.ERROR,
          outcome.failure().code(),
          outcome.failure().getMessage(),
          "llm",
          outcome.failure().retryable());
      request.getResponse().setLlmEndpoint(outcome.endpoint());
      request.getResponse().setRetries(outcome.retries());
      return;
    }
    ChatCompletion completion = outcome.completion();
    request.getTimings().setTtftMs(completion.ttftMillis());
    request.getTimings().setTpotMs(completion.tpotMillis());
    InferenceResponse response =
        Stages.response(request, ResponseStatus.OK)
            .setText(completion.text())
            .setFinishReason(completion.finishReason())
            .setCitations(citations(request.getPassages()))
            .setUsage(
                new TokenUsage(
                    completion.promptTokens(),
                    completion.completionTokens(),
                    completion.cachedPromptTokens()))
            .setLlmEndpoint(outcome.endpoint())
            .setRetries(outcome.retries())
            .build();
    request.setResponse(response);
  }

  static List<Citation> citations(List<Passage> passages) {
    List<Citation> citations = new ArrayList<>(passages.size());
    for (Passage passage : passages) {
      citations.add(
          new Citation(
              passage.getDocId(),
              passage.getChunkId(),
              passage.getScore(),
              passage.getTitle(),
              passage.getSource()));
    }
    return citations;
  }
}
