package dev.streamrag.corpus;

import java.util.List;
import java.util.Map;

/**
 * A question no single article answers: it needs facts of two entities and a computation, so an
 * agent must call tools at least three times. The ground truth says which calls lead to the answer.
 *
 * @param questionId stable id, e.g. {@code mh-000007}
 * @param tenantId the tenant whose corpus holds both entities
 * @param question naming both entities
 * @param answer the exact answer text (a number, with its unit where the facts have one)
 * @param steps the tool calls that lead there, in order
 */
public record MultiHopQuestion(
    String questionId, String tenantId, String question, String answer, List<ToolStep> steps) {

  /** One tool call of the ground truth: the tool and its arguments. */
  public record ToolStep(String tool, Map<String, String> arguments) {}

  public MultiHopQuestion {
    steps = List.copyOf(steps);
  }
}
