package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.llmsim.engine.TokenEvent;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Writes one completion to its client as the engine produces tokens: SSE chunks in vLLM's format
 * when streaming ({@code data: {...}}, a usage chunk on request, then {@code data: [DONE]}), or one
 * JSON body after the last token. Runs on the event loop.
 */
final class CompletionWriter {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final JsonStringEncoder JSON_STRINGS = JsonStringEncoder.getInstance();

  private final HttpServerResponse response;
  private final CompletionRequest request;
  private final String id;
  private final long created;
  private final List<String> slices;
  private final String text;
  private final String finishReason;
  private final ServerMetrics metrics;
  private final long arrivedNanos;
  private final Vertx vertx;
  private final long stallMillis;
  private final boolean drop;
  private final CompletionTimeline.Observer observer;
  private long submittedNanos;
  private volatile long firstEmittedNanos;
  private long firstTokenNanos;
  private boolean stallStarted;
  private ArrayDeque<TokenEvent> held;
  private boolean dropped;
  private String chunkPrefix;
  private String chunkSuffix;

  CompletionWriter(
      HttpServerResponse response,
      CompletionRequest request,
      String id,
      long created,
      List<String> slices,
      String text,
      String finishReason,
      ServerMetrics metrics,
      long arrivedNanos,
      Vertx vertx,
      long stallMillis,
      boolean drop,
      CompletionTimeline.Observer observer) {
    this.response = response;
    this.request = request;
    this.id = id;
    this.created = created;
    this.slices = slices;
    this.text = text;
    this.finishReason = finishReason;
    this.metrics = metrics;
    this.arrivedNanos = arrivedNanos;
    this.vertx = vertx;
    this.stallMillis = stallMillis;
    this.drop = drop;
    this.observer = observer;
  }

  /**
   * Marks when the engine handed out the first token, for the timeline. Called on the engine's
   * thread, before the token is queued to the event loop.
   */
  void firstTokenEmitted(long nanos) {
    firstEmittedNanos = nanos;
  }

  /**
   * Whether the connection closed before the answer was complete because of the client, not because
   * an injected fault dropped it.
   */
  boolean abandonedByClient() {
    return !response.ended() && !dropped;
  }

  /** Marks the hand-over to the engine, for the timeline. */
  void submitted() {
    submittedNanos = System.nanoTime();
  }

  /** Sends the SSE headers and, for chat, the first chunk that names the assistant role. */
  void beginStream() {
    response
        .setChunked(true)
        .putHeader("content-type", "text/event-stream")
        .putHeader("cache-control", "no-cache");
    if (request.chat()) {
      writeEvent(streamChunk(null, null));
    }
  }

  /** A token from the engine; injected stalls and drops happen here, halfway through. */
  void onToken(TokenEvent event) {
    metrics.generationTokens.increment();
    if (dropped) {
      return;
    }
    boolean halfway = event.index() >= slices.size() / 2;
    if (drop && halfway) {
      dropped = true;
      metrics.injectedDrops.increment();
      response.reset();
      return;
    }
    if (stallMillis > 0 && halfway && !stallStarted) {
      stallStarted = true;
      metrics.injectedStalls.increment();
      held = new ArrayDeque<>();
      vertx.setTimer(
          stallMillis,
          timer -> {
            ArrayDeque<TokenEvent> release = held;
            held = null;
            release.forEach(this::deliver);
          });
    }
    if (held != null) {
      held.add(event);
      return;
    }
    deliver(event);
  }

  private void deliver(TokenEvent event) {
    record(event);
    if (response.closed() || response.ended()) {
      return; // the client went away; the engine drops the request at its next step
    }
    if (!request.stream()) {
      if (event.last()) {
        response.putHeader("content-type", "application/json").end(whole().toString());
      }
      return;
    }
    String finish = event.last() ? finishReason : null;
    if (request.toolCall() != null) {
      writeEvent(toolCallChunk(event.index(), slices.get(event.index()), finish));
    } else if (finish == null) {
      response.write(tokenChunk(slices.get(event.index())));
    } else {
      writeEvent(streamChunk(slices.get(event.index()), finish));
    }
    if (event.last()) {
      if (request.includeUsage()) {
        ObjectNode usage = header(request.chat() ? "chat.completion.chunk" : "text_completion");
        usage.putArray("choices");
        usage.set("usage", usage());
        writeEvent(usage);
      }
      response.end("data: [DONE]\n\n");
    }
  }

  /** Latencies as the client sees them, from the request's arrival at the server. */
  private void record(TokenEvent event) {
    long now = System.nanoTime();
    if (event.index() == 0) {
      firstTokenNanos = now;
      metrics.timeToFirstToken.record((now - arrivedNanos) / 1e9);
    }
    if (event.last()) {
      if (event.index() > 0) {
        metrics.timePerOutputToken.record((now - firstTokenNanos) / 1e9 / event.index());
      }
      metrics.e2eLatency.record((now - arrivedNanos) / 1e9);
      if (observer != null) {
        observer.onFinished(
            new CompletionTimeline(
                id,
                arrivedNanos,
                submittedNanos,
                firstEmittedNanos,
                firstTokenNanos,
                now,
                event.index() + 1));
      }
      (finishReason.equals("length") ? metrics.finishedLength : metrics.finishedStop).increment();
    }
  }

  /**
   * A token's chunk, the same bytes as {@link #streamChunk} gives for a non-final token, built by
   * concatenation: hundreds of streams produce tens of thousands of these per second on the event
   * loops, and building a JSON tree for each delayed other streams' tokens measurably.
   */
  private String tokenChunk(String slice) {
    if (chunkPrefix == null) {
      String empty = "data: " + streamChunk("", null) + "\n\n";
      String marker = request.chat() ? "\"content\":\"\"" : "\"text\":\"\"";
      int at = empty.indexOf(marker) + marker.length() - 1;
      chunkPrefix = empty.substring(0, at);
      chunkSuffix = empty.substring(at);
    }
    StringBuilder chunk = new StringBuilder(chunkPrefix.length() + chunkSuffix.length() + 16);
    chunk.append(chunkPrefix);
    JSON_STRINGS.quoteAsString(slice, chunk);
    return chunk.append(chunkSuffix).toString();
  }

  private void writeEvent(ObjectNode node) {
    response.write("data: " + node + "\n\n");
  }

  private ObjectNode header(String object) {
    ObjectNode node = NODES.objectNode();
    node.put("id", id);
    node.put("object", object);
    node.put("created", created);
    node.put("model", request.model());
    return node;
  }

  /**
   * One streamed chunk: a chat delta or a completion's text. For chat, a null {@code slice} makes
   * the opening chunk that names the assistant role, as vLLM sends first.
   */
  private ObjectNode streamChunk(String slice, String finish) {
    ObjectNode node = header(request.chat() ? "chat.completion.chunk" : "text_completion");
    ObjectNode choice = node.putArray("choices").addObject();
    choice.put("index", 0);
    if (request.chat()) {
      ObjectNode delta = choice.putObject("delta");
      if (slice == null) {
        delta.put("role", "assistant");
      }
      delta.put("content", slice == null ? "" : slice);
    } else {
      choice.put("text", slice);
    }
    choice.putNull("logprobs");
    putFinish(choice, finish);
    return node;
  }

  /** A streamed piece of a tool call: the first names the call, each carries argument text. */
  private ObjectNode toolCallChunk(int index, String slice, String finish) {
    ObjectNode node = header("chat.completion.chunk");
    ObjectNode choice = node.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode call = choice.putObject("delta").putArray("tool_calls").addObject();
    call.put("index", 0);
    if (index == 0) {
      call.put("id", toolCallId());
      call.put("type", "function");
      call.putObject("function").put("name", request.toolCall().name()).put("arguments", slice);
    } else {
      call.putObject("function").put("arguments", slice);
    }
    choice.putNull("logprobs");
    putFinish(choice, finish);
    return node;
  }

  private String toolCallId() {
    return "call_" + id.substring(id.indexOf('-') + 1, Math.min(id.length(), id.indexOf('-') + 25));
  }

  private ObjectNode whole() {
    ObjectNode node = header(request.chat() ? "chat.completion" : "text_completion");
    ObjectNode choice = node.putArray("choices").addObject();
    choice.put("index", 0);
    if (request.toolCall() != null) {
      ObjectNode message = choice.putObject("message").put("role", "assistant");
      message.putNull("content");
      ObjectNode call = message.putArray("tool_calls").addObject();
      call.put("id", toolCallId());
      call.put("type", "function");
      call.putObject("function")
          .put("name", request.toolCall().name())
          .put("arguments", request.toolCall().arguments());
    } else if (request.chat()) {
      choice.putObject("message").put("role", "assistant").put("content", text);
    } else {
      choice.put("text", text);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    node.set("usage", usage());
    return node;
  }

  private ObjectNode usage() {
    ObjectNode usage = NODES.objectNode();
    usage.put("prompt_tokens", request.promptTokens().length);
    usage.put("completion_tokens", slices.size());
    usage.put("total_tokens", request.promptTokens().length + slices.size());
    return usage;
  }

  private static void putFinish(ObjectNode choice, String finish) {
    if (finish == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finish);
    }
  }
}
