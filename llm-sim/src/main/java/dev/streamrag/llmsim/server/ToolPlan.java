package dev.streamrag.llmsim.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The simulated model's plan for questions about two named things, over several steps, so that an
 * agent loop's multi-hop runs are reproducible. It applies when the request offers a <em>lookup
 * tool</em> (a required string parameter {@code name}) and a <em>compute tool</em> (a required
 * string parameter {@code expression}), {@code tool_choice} is absent, {@code auto} or {@code
 * required}, and the question names two or more things. Otherwise {@link ToolCallRule} decides.
 *
 * <p>The rule, one step per request, from the conversation so far:
 *
 * <ol>
 *   <li><b>Names</b> are runs of capitalised words after the question's first word, with the
 *       lowercase noun right after a run that follows "the" ("the Xyz probe"), stopping at words
 *       like "and", "than", "did".
 *   <li>Each name without a lookup yet is looked up, in order: one call per step.
 *   <li>Then, unless a compute result is in: the attribute of the first entity's facts whose name
 *       shares the most words with the question (prefixes of 4 letters count: "employ" matches
 *       "employees") gives each entity's number; the question's wording picks the operation
 *       ("combined", "total", "sum", "together": +; otherwise the difference, larger first).
 *   <li>Then the answer: the compute result with the facts' unit ("3314 km").
 *   <li>A lookup that failed, or facts without a shared number, end in an answer that says so.
 * </ol>
 */
final class ToolPlan {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}'-]+|[?,.;:]");
  private static final Set<String> STOP =
      Set.of("and", "than", "did", "does", "do", "was", "is", "were", "of", "in", "to", "?", ",");
  private static final Set<String> SUM = Set.of("combined", "total", "sum", "together");
  private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

  private ToolPlan() {}

  /** What the model does this step: a tool call, or the final answer's text. */
  record Step(ToolCallRule.ToolCall call, String answer) {}

  /** This step of the plan, or null where the plan does not apply. */
  static Step decide(JsonNode body, String question) {
    JsonNode tools = body.path("tools");
    JsonNode choice = body.get("tool_choice");
    if (!tools.isArray()
        || (choice != null
            && !choice.isNull()
            && !(choice.isTextual() && Set.of("auto", "required").contains(choice.textValue())))) {
      return null;
    }
    String lookup = toolWithParameter(tools, "name");
    String compute = toolWithParameter(tools, "expression");
    List<String> names = names(question);
    if (lookup == null || compute == null || names.size() < 2) {
      return null;
    }
    Conversation so = Conversation.of(body.path("messages"));
    List<JsonNode> facts = new ArrayList<>();
    for (String name : names) {
      String result = so.resultOf(lookup, "name", name);
      if (result == null) {
        return call(lookup, "name", name);
      }
      JsonNode entity = parse(result);
      if (entity == null || !entity.path("facts").isObject()) {
        return answer("I could not find " + name + ": " + abbreviate(result));
      }
      facts.add(entity.path("facts"));
    }
    String attribute = attribute(facts.get(0), question);
    if (attribute == null) {
      return answer("The facts of " + names.get(0) + " hold no number the question asks about.");
    }
    double[] values = new double[2];
    for (int i = 0; i < 2; i++) {
      Matcher number = NUMBER.matcher(facts.get(i).path(attribute).asText(""));
      if (!number.find()) {
        return answer(names.get(i) + " has no " + attribute.replace('_', ' ') + " on record.");
      }
      values[i] = Double.parseDouble(number.group());
    }
    boolean sum = words(question).stream().anyMatch(SUM::contains);
    String expression =
        sum
            ? format(values[0]) + " + " + format(values[1])
            : format(Math.max(values[0], values[1]))
                + " - "
                + format(Math.min(values[0], values[1]));
    String result = so.resultOf(compute, "expression", expression);
    if (result == null) {
      return call(compute, "expression", expression);
    }
    String unit = facts.get(0).path(attribute).asText("").replaceFirst("^-?[\\d.]+", "");
    return answer("The answer is " + result.strip() + unit + ".");
  }

  /** The names the question mentions, in order (see the class comment). */
  static List<String> names(String question) {
    List<String> words = new ArrayList<>();
    Matcher matcher = WORD.matcher(question);
    while (matcher.find()) {
      words.add(matcher.group());
    }
    List<String> names = new ArrayList<>();
    int i = 1; // the question's first word is capitalised as a sentence's first word
    while (i < words.size()) {
      if (!capitalised(words.get(i))) {
        i++;
        continue;
      }
      boolean afterThe = words.get(i - 1).equalsIgnoreCase("the");
      StringBuilder name = new StringBuilder(afterThe ? "the " : "");
      int start = name.length();
      while (i < words.size() && capitalised(words.get(i))) {
        name.append(name.length() > start ? " " : "").append(words.get(i));
        i++;
      }
      if (afterThe
          && i < words.size()
          && Character.isLowerCase(words.get(i).charAt(0))
          && !STOP.contains(words.get(i))) {
        name.append(' ').append(words.get(i)); // the Xyz probe
        i++;
      }
      if (!names.contains(name.toString())) {
        names.add(name.toString());
      }
    }
    return names;
  }

  private static boolean capitalised(String word) {
    return Character.isUpperCase(word.charAt(0));
  }

  /** The fact whose attribute name shares the most words with the question, if any does. */
  private static String attribute(JsonNode facts, String question) {
    List<String> asked = words(question);
    String best = null;
    int bestScore = 0;
    for (Iterator<String> it = facts.fieldNames(); it.hasNext(); ) {
      String attribute = it.next();
      if (!NUMBER.matcher(facts.path(attribute).asText("")).lookingAt()) {
        continue;
      }
      int score = 0;
      for (String part : attribute.toLowerCase(Locale.ROOT).split("_")) {
        for (String word : asked) {
          if (word.length() >= 4 && part.length() >= 4 && word.regionMatches(0, part, 0, 4)) {
            score++;
            break;
          }
        }
      }
      if (score > bestScore) {
        bestScore = score;
        best = attribute;
      }
    }
    return best;
  }

  private static List<String> words(String text) {
    List<String> words = new ArrayList<>();
    Matcher matcher = WORD.matcher(text.toLowerCase(Locale.ROOT));
    while (matcher.find()) {
      words.add(matcher.group());
    }
    return words;
  }

  private static String toolWithParameter(JsonNode tools, String parameter) {
    for (JsonNode tool : tools) {
      JsonNode parameters = tool.path("function").path("parameters");
      boolean required = false;
      for (JsonNode name : parameters.path("required")) {
        required |= name.asText().equals(parameter);
      }
      if (required
          && parameters.path("properties").path(parameter).path("type").asText().equals("string")) {
        return tool.path("function").path("name").asText();
      }
    }
    return null;
  }

  private static Step call(String tool, String parameter, String value) {
    ObjectNode arguments = JsonNodeFactory.instance.objectNode().put(parameter, value);
    return new Step(new ToolCallRule.ToolCall(tool, arguments.toString()), null);
  }

  private static Step answer(String text) {
    return new Step(null, text);
  }

  private static JsonNode parse(String text) {
    try {
      JsonNode node = JSON.readTree(text);
      return node != null && node.isObject() ? node : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static String format(double value) {
    return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
  }

  private static String abbreviate(String text) {
    String line = text.strip().replaceAll("\\s+", " ");
    return line.length() <= 160 ? line : line.substring(0, 157) + "...";
  }

  /** The tool calls the conversation holds and their results. */
  private record Conversation(List<JsonNode> calls, Map<String, String> results) {
    static Conversation of(JsonNode messages) {
      List<JsonNode> calls = new ArrayList<>();
      Map<String, String> results = new HashMap<>();
      for (JsonNode message : messages) {
        String role = message.path("role").asText("");
        if (role.equals("assistant")) {
          message.path("tool_calls").forEach(calls::add);
        } else if (role.equals("tool")) {
          results.put(message.path("tool_call_id").asText(""), text(message.path("content")));
        }
      }
      return new Conversation(calls, results);
    }

    /** The result of a call of {@code tool} whose {@code parameter} was {@code value}, or null. */
    String resultOf(String tool, String parameter, String value) {
      for (JsonNode call : calls) {
        JsonNode function = call.path("function");
        if (!function.path("name").asText().equals(tool)) {
          continue;
        }
        JsonNode arguments = parse(function.path("arguments").asText(""));
        if (arguments != null
            && normal(arguments.path(parameter).asText("")).equals(normal(value))) {
          String result = results.get(call.path("id").asText(""));
          if (result != null) {
            return result;
          }
        }
      }
      return null;
    }

    private static String normal(String text) {
      return text.strip().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    }

    private static String text(JsonNode content) {
      if (content.isTextual()) {
        return content.textValue();
      }
      StringBuilder text = new StringBuilder();
      for (JsonNode part : content) {
        text.append(part.path("text").asText(""));
      }
      return text.toString();
    }
  }
}
