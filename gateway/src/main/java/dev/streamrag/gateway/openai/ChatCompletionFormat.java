package dev.streamrag.gateway.openai;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.TokenUsage;
import java.util.Objects;

/**
 * One answer in OpenAI's chat completion format: as server-sent events ({@code
 * chat.completion.chunk} objects, then {@code data: [DONE]}) or as one {@code chat.completion}
 * object. The id is {@code chatcmpl-<requestId>}, so a client can find the request in the job's
 * records.
 */
public final class ChatCompletionFormat {
  /** The event that closes a stream. */
  public static final String DONE = "data: [DONE]\n\n";

  /** An SSE comment: clients ignore it, proxies and idle timers see the stream is alive. */
  public static final String KEEP_ALIVE = ": keep-alive\n\n";

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final JsonStringEncoder JSON_STRINGS = JsonStringEncoder.getInstance();
  private static final String DEFAULT_FINISH_REASON = "stop";

  private final String requestId;
  private final String id;
  private final long createdSeconds;
  private final String requestedModel;
  private final boolean includeUsage;
  private String model;
  private String contentPrefix;
  private String contentSuffix;

  /**
   * @param createdAtMillis when the gateway received the request; OpenAI's {@code created} is in
   *     seconds
   * @param requestedModel the model the client named, until a HEAD piece names the one answering
   * @param includeUsage whether the stream ends with a usage chunk; as OpenAI does then, every
   *     chunk before it carries {@code "usage": null}
   */
  public ChatCompletionFormat(
      String requestId, long createdAtMillis, String requestedModel, boolean includeUsage) {
    this.requestId = Objects.requireNonNull(requestId, "requestId");
    this.id = "chatcmpl-" + requestId;
    this.createdSeconds = createdAtMillis / 1000;
    this.requestedModel = Objects.requireNonNull(requestedModel, "requestedModel");
    this.includeUsage = includeUsage;
    this.model = requestedModel;
  }

  public String id() {
    return id;
  }

  /** Names the model the HEAD piece says answers, in every chunk from now on. */
  public void answeredBy(AnswerPiece head) {
    if (head != null && head.getModel() != null && !head.getModel().isBlank()) {
      model = head.getModel();
      contentPrefix = null;
    }
  }

  /**
   * The first chunk: the assistant role, and what the HEAD piece tells in the {@code streamrag}
   * extension.
   */
  public String roleChunk(AnswerPiece head) {
    ObjectNode chunk = chunk();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("delta").put("role", "assistant").put("content", "");
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    chunk.set("streamrag", StreamragExtension.head(requestId, head));
    return event(chunk);
  }

  /**
   * A chunk of answer text. Built by concatenation rather than as a JSON tree: it is by far the
   * most frequent event.
   */
  public String contentChunk(String text) {
    if (contentPrefix == null) {
      ObjectNode chunk = chunk();
      ObjectNode choice = chunk.putArray("choices").addObject();
      choice.put("index", 0);
      choice.putObject("delta").put("content", "");
      choice.putNull("logprobs");
      choice.putNull("finish_reason");
      String empty = event(chunk);
      String marker = "\"content\":\"\"";
      int at = empty.indexOf(marker) + marker.length() - 1;
      contentPrefix = empty.substring(0, at);
      contentSuffix = empty.substring(at);
    }
    StringBuilder event = new StringBuilder(contentPrefix.length() + text.length() + 64);
    event.append(contentPrefix);
    JSON_STRINGS.quoteAsString(text, event);
    return event.append(contentSuffix).toString();
  }

  /** The chunk with the finish reason, and what the END piece tells. */
  public String finishChunk(AnswerPiece end) {
    ObjectNode chunk = chunk();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("delta");
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason(end));
    chunk.set("streamrag", StreamragExtension.end(requestId, end));
    return event(chunk);
  }

  /** The usage chunk OpenAI sends last when {@code stream_options.include_usage} is set. */
  public String usageChunk(AnswerPiece end) {
    ObjectNode chunk = header("chat.completion.chunk");
    chunk.putArray("choices");
    chunk.set("usage", usage(end));
    return event(chunk);
  }

  /** The event that ends a stream which cannot finish: an error after text was sent. */
  public static String errorEvent(ApiError error) {
    return event(error.toJson());
  }

  /** The whole answer as one {@code chat.completion} object. */
  public ObjectNode completion(String text, AnswerPiece head, AnswerPiece end) {
    ObjectNode completion = header("chat.completion");
    ObjectNode choice = completion.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", text);
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason(end));
    completion.set("usage", usage(end));
    completion.set("streamrag", StreamragExtension.whole(requestId, head, end));
    return completion;
  }

  /** A chunk before the usage chunk. */
  private ObjectNode chunk() {
    ObjectNode chunk = header("chat.completion.chunk");
    if (includeUsage) {
      chunk.putNull("usage");
    }
    return chunk;
  }

  private ObjectNode header(String object) {
    ObjectNode node = NODES.objectNode();
    node.put("id", id);
    node.put("object", object);
    node.put("created", createdSeconds);
    node.put("model", model == null ? requestedModel : model);
    return node;
  }

  private static String finishReason(AnswerPiece end) {
    String reason = end.getFinishReason();
    return reason == null || reason.isBlank() ? DEFAULT_FINISH_REASON : reason;
  }

  /** Token usage as the LLM reported it; zeros when no LLM call was made (a cache hit). */
  private static ObjectNode usage(AnswerPiece end) {
    TokenUsage usage = end.getUsage();
    int prompt = usage == null ? 0 : usage.getPromptTokens();
    int completion = usage == null ? 0 : usage.getCompletionTokens();
    ObjectNode node = NODES.objectNode();
    node.put("prompt_tokens", prompt);
    node.put("completion_tokens", completion);
    node.put("total_tokens", prompt + completion);
    if (usage != null && usage.getCachedPromptTokens() != null) {
      node.putObject("prompt_tokens_details").put("cached_tokens", usage.getCachedPromptTokens());
    }
    return node;
  }

  private static String event(ObjectNode node) {
    return "data: " + node + "\n\n";
  }
}
