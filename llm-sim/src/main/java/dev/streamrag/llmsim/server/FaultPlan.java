package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Set;

/**
 * Which faults the simulator injects, per request. Later reliability tests use it to produce the
 * failures a real deployment has: rate limiting and overload (429/503), crashes (500), a slow first
 * token (e.g. a cold replica), stalls in the middle of a stream, dropped connections, and a model
 * that keeps calling the same tool.
 *
 * @param rate429 share of requests answered 429 at once (0..1)
 * @param rate500 share answered 500
 * @param rate503 share answered 503
 * @param next503 the next this many requests are answered 503 before the shares apply: a burst of
 *     overload of a known size, so a test of retries can know every request will get through
 * @param firstTokenDelayMillis extra wait before a request enters the engine (raises TTFT)
 * @param stallProbability share of streams that pause halfway for {@code stallMillis}
 * @param stallMillis how long a stall lasts; tokens produced meanwhile arrive together after it
 * @param dropProbability share of requests whose connection is closed halfway through
 * @param retryAfterSeconds when positive, injected 429s and 503s carry {@code Retry-After:} this
 *     many seconds, as a gateway or rate limiter in front of vLLM would send (vLLM itself sends
 *     none); clients that honour it stop calling this server for that long
 * @param toolRepeat share of requests after a tool result (JSON key {@code tool_repeat}) answered
 *     with the conversation's most recent tool call again, same tool and arguments, instead of text
 *     ({@link RepeatedToolCall}): an agent loop that never ends unless the client stops it
 */
public record FaultPlan(
    double rate429,
    double rate500,
    double rate503,
    int next503,
    long firstTokenDelayMillis,
    double stallProbability,
    long stallMillis,
    double dropProbability,
    long retryAfterSeconds,
    double toolRepeat) {

  public static final FaultPlan NONE = new FaultPlan(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  /** The JSON key of {@link #toolRepeat()}. */
  static final String TOOL_REPEAT = "tool_repeat";

  private static final Set<String> KEYS =
      Set.of(
          "rate429",
          "rate500",
          "rate503",
          "next503",
          "firstTokenDelayMillis",
          "stallProbability",
          "stallMillis",
          "dropProbability",
          "retryAfterSeconds",
          TOOL_REPEAT);

  public FaultPlan {
    share("rate429", rate429);
    share("rate500", rate500);
    share("rate503", rate503);
    share("stallProbability", stallProbability);
    share("dropProbability", dropProbability);
    share(TOOL_REPEAT, toolRepeat);
    if (rate429 + rate500 + rate503 > 1) {
      throw new IllegalArgumentException("rate429 + rate500 + rate503 must not exceed 1");
    }
    if (next503 < 0) {
      throw new IllegalArgumentException("next503 must not be negative");
    }
    if (firstTokenDelayMillis < 0 || stallMillis < 0 || retryAfterSeconds < 0) {
      throw new IllegalArgumentException("delays must not be negative");
    }
  }

  /** A plan without {@code tool_repeat}. */
  public FaultPlan(
      double rate429,
      double rate500,
      double rate503,
      int next503,
      long firstTokenDelayMillis,
      double stallProbability,
      long stallMillis,
      double dropProbability,
      long retryAfterSeconds) {
    this(
        rate429,
        rate500,
        rate503,
        next503,
        firstTokenDelayMillis,
        stallProbability,
        stallMillis,
        dropProbability,
        retryAfterSeconds,
        0);
  }

  /** A plan whose 429s and 503s carry no {@code Retry-After}, without {@code tool_repeat}. */
  public FaultPlan(
      double rate429,
      double rate500,
      double rate503,
      int next503,
      long firstTokenDelayMillis,
      double stallProbability,
      long stallMillis,
      double dropProbability) {
    this(
        rate429,
        rate500,
        rate503,
        next503,
        firstTokenDelayMillis,
        stallProbability,
        stallMillis,
        dropProbability,
        0,
        0);
  }

  /** Reads a plan from JSON; absent keys are 0, unknown keys are refused. */
  public static FaultPlan fromJson(JsonNode json) {
    if (json == null || !json.isObject()) {
      throw new IllegalArgumentException("a fault plan is a JSON object with keys " + KEYS);
    }
    Iterator<String> names = json.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!KEYS.contains(name)) {
        throw new IllegalArgumentException("unknown fault '" + name + "'; known: " + KEYS);
      }
      if (!json.get(name).isNumber()) {
        throw new IllegalArgumentException(name + " must be a number");
      }
    }
    return new FaultPlan(
        json.path("rate429").asDouble(0),
        json.path("rate500").asDouble(0),
        json.path("rate503").asDouble(0),
        wholeNumber(json, "next503"),
        json.path("firstTokenDelayMillis").asLong(0),
        json.path("stallProbability").asDouble(0),
        json.path("stallMillis").asLong(0),
        json.path("dropProbability").asDouble(0),
        wholeNumber(json, "retryAfterSeconds"),
        json.path(TOOL_REPEAT).asDouble(0));
  }

  ObjectNode toJson() {
    ObjectNode json = JsonNodeFactory.instance.objectNode();
    json.put("rate429", rate429);
    json.put("rate500", rate500);
    json.put("rate503", rate503);
    json.put("next503", next503);
    json.put("firstTokenDelayMillis", firstTokenDelayMillis);
    json.put("stallProbability", stallProbability);
    json.put("stallMillis", stallMillis);
    json.put("dropProbability", dropProbability);
    json.put("retryAfterSeconds", retryAfterSeconds);
    json.put(TOOL_REPEAT, toolRepeat);
    return json;
  }

  private static int wholeNumber(JsonNode json, String name) {
    JsonNode value = json.path(name);
    if (value.isMissingNode()) {
      return 0;
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber()) {
      throw new IllegalArgumentException(name + " must be a whole number, got " + value);
    }
    return value.intValue();
  }

  private static void share(String name, double value) {
    if (!(value >= 0 && value <= 1)) {
      throw new IllegalArgumentException(name + " must be between 0 and 1, got " + value);
    }
  }
}
