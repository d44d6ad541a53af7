package dev.streamrag.gateway.openai;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.AnswerPiece;
import dev.streamrag.schemas.Citation;
import dev.streamrag.schemas.StageTimings;

/**
 * The {@code streamrag} object the gateway adds to OpenAI's responses: what OpenAI's format has no
 * field for. From the HEAD piece: the request kind, the model that answered, the citations and the
 * cache hit; from the END piece: the status, what the answer had to do without ({@code degraded},
 * e.g. {@code retrieval.unavailable}: answered without context) and the in-job stage timings.
 * OpenAI clients ignore unknown fields, and expose them to those who ask (e.g. {@code
 * _additionalProperties()} in openai-java, {@code model_extra} in Python).
 */
public final class StreamragExtension {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private StreamragExtension() {}

  /** What the HEAD piece tells ({@code head} may be null if none arrived). */
  public static ObjectNode head(String requestId, AnswerPiece head) {
    ObjectNode node = NODES.objectNode();
    node.put("request_id", requestId);
    if (head != null) {
      putHead(node, head);
    }
    return node;
  }

  /** What the END piece tells. */
  public static ObjectNode end(String requestId, AnswerPiece end) {
    ObjectNode node = NODES.objectNode();
    node.put("request_id", requestId);
    putEnd(node, end);
    return node;
  }

  /** Both, for a whole (non-streamed) answer. */
  public static ObjectNode whole(String requestId, AnswerPiece head, AnswerPiece end) {
    ObjectNode node = head(requestId, head);
    putEnd(node, end);
    return node;
  }

  private static void putHead(ObjectNode node, AnswerPiece head) {
    if (head.getKind() != null) {
      node.put("kind", head.getKind().name());
    }
    if (head.getModel() != null) {
      node.put("model", head.getModel());
    }
    node.put("cache_hit", head.getCacheHit().name());
    ArrayNode citations = node.putArray("citations");
    for (Citation citation : head.getCitations()) {
      ObjectNode item = citations.addObject();
      item.put("doc_id", citation.getDocId());
      item.put("chunk_id", citation.getChunkId());
      item.put("score", citation.getScore());
      if (citation.getTitle() != null) {
        item.put("title", citation.getTitle());
      }
      if (citation.getSource() != null) {
        item.put("source", citation.getSource());
      }
    }
  }

  private static void putEnd(ObjectNode node, AnswerPiece end) {
    if (end.getStatus() != null) {
      node.put("status", end.getStatus().name());
    }
    node.put("cache_hit", end.getCacheHit().name());
    // What an OK answer did without, e.g. retrieval.unavailable: answered with no context.
    ArrayNode degraded = node.putArray("degraded");
    end.getDegraded().forEach(degraded::add);
    StageTimings timings = end.getTimings();
    if (timings != null) {
      ObjectNode times = node.putObject("timings");
      putMillis(times, "queue_ms", timings.getQueueMs());
      putMillis(times, "cache_ms", timings.getCacheMs());
      putMillis(times, "embed_ms", timings.getEmbedMs());
      putMillis(times, "retrieve_ms", timings.getRetrieveMs());
      putMillis(times, "prompt_ms", timings.getPromptMs());
      putMillis(times, "ttft_ms", timings.getTtftMs());
      putMillis(times, "tpot_ms", timings.getTpotMs());
      putMillis(times, "llm_ms", timings.getLlmMs());
      putMillis(times, "total_ms", timings.getTotalMs());
    }
  }

  private static void putMillis(ObjectNode node, String name, Double millis) {
    if (millis != null) {
      node.put(name, millis);
    }
  }
}
