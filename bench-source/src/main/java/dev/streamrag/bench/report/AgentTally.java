package dev.streamrag.bench.report;

import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.schemas.AgentRun;
import dev.streamrag.schemas.AgentStep;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.ToolCallOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's measured AGENT responses, read from each response's {@code agent} record: how the loops
 * ended, how many steps and tool calls they took, which tool calls failed and why, where each
 * step's time went (the model, the tools, the loop's own overhead), and whether the answer holds
 * the multi-hop question's ground truth.
 *
 * <p>Step times leave out what a failover replayed from the journal, which took no time: the LLM
 * time is over steps that called the model, the tool time over steps that made at least one tool
 * call (the answering step makes none), the overhead over every step.
 */
final class AgentTally {
  private final Map<String, MultiHopQuestion> truth = new TreeMap<>();
  private final Map<String, Long> byStatus = new TreeMap<>();
  private final Map<String, Long> errorsByCode = new TreeMap<>();
  private final Map<String, Long> toolCallsByName = new TreeMap<>();
  private final Map<String, Long> toolErrorsByCode = new TreeMap<>();
  private final List<Long> stepsPerRun = new ArrayList<>();
  private final List<Long> callsPerRun = new ArrayList<>();
  private final LatencyStats llmPerStep = new LatencyStats();
  private final LatencyStats toolPerStep = new LatencyStats();
  private final LatencyStats overheadPerStep = new LatencyStats();
  private long answered;
  private long toolCalls;
  private long toolErrors;
  private long replayedSteps;
  private long replayedCalls;
  private long degraded;
  private long graded;
  private long correct;

  AgentTally(List<MultiHopQuestion> questions) {
    questions.forEach(q -> truth.put(q.questionId(), q));
  }

  /**
   * One measured AGENT response.
   *
   * @param questionId the request's {@code bench.question}, null when it asked none
   */
  void add(InferenceResponse response, String questionId) {
    answered++;
    byStatus.merge(response.getStatus().name(), 1L, Long::sum);
    if (response.getError() != null) {
      errorsByCode.merge(response.getError().getCode(), 1L, Long::sum);
    }
    boolean ok = response.getStatus() == ResponseStatus.OK;
    if (ok && !response.getDegraded().isEmpty()) {
      degraded++;
    }
    AgentRun run = response.getAgent();
    if (run != null) { // null: refused before the loop began (validation, unknown tools)
      long calls = 0;
      for (AgentStep step : run.getSteps()) {
        addStep(step);
        calls += step.getToolCalls().size();
      }
      stepsPerRun.add((long) run.getSteps().size());
      callsPerRun.add(calls);
    }
    MultiHopQuestion question = questionId == null ? null : truth.get(questionId);
    if (ok && question != null) {
      graded++;
      String text = response.getText() == null ? "" : response.getText();
      if (text.toLowerCase(Locale.ROOT).contains(question.answer().toLowerCase(Locale.ROOT))) {
        correct++;
      }
    }
  }

  private void addStep(AgentStep step) {
    if (step.getReplayed()) {
      replayedSteps++;
    } else {
      llmPerStep.record(step.getLlmMs());
    }
    overheadPerStep.record(step.getOverheadMs());
    boolean madeACall = false;
    for (ToolCallOutcome call : step.getToolCalls()) {
      toolCalls++;
      toolCallsByName.merge(call.getName(), 1L, Long::sum);
      if (call.getReplayed()) {
        replayedCalls++;
      } else {
        madeACall = true;
      }
      if (!call.getOk()) {
        toolErrors++;
        toolErrorsByCode.merge(
            call.getErrorCode() == null ? "unknown" : call.getErrorCode(), 1L, Long::sum);
      }
    }
    if (madeACall) {
      toolPerStep.record(step.getToolMs());
    }
  }

  /**
   * The section, or null when the run measured no AGENT request.
   *
   * @param sent measured AGENT requests sent
   * @param sendSeconds the measured part of the run's sending, for the offered rate
   */
  RunReport.Agents agents(long sent, double sendSeconds) {
    if (sent == 0 && answered == 0) {
      return null;
    }
    return new RunReport.Agents(
        sent,
        answered,
        sent / sendSeconds,
        byStatus,
        errorsByCode,
        perRun(stepsPerRun),
        perRun(callsPerRun),
        toolCalls,
        toolErrors,
        toolCalls == 0 ? Double.NaN : (double) toolErrors / toolCalls,
        toolErrorsByCode,
        toolCallsByName,
        replayedSteps,
        replayedCalls,
        degraded,
        perStep(llmPerStep),
        perStep(toolPerStep),
        perStep(overheadPerStep),
        graded,
        correct,
        graded == 0 ? Double.NaN : (double) correct / graded);
  }

  private static RunReport.PerRun perRun(List<Long> counts) {
    if (counts.isEmpty()) {
      return new RunReport.PerRun(0, Double.NaN, Double.NaN, 0);
    }
    long[] sorted = counts.stream().mapToLong(Long::longValue).sorted().toArray();
    double sum = 0;
    for (long n : sorted) {
      sum += n;
    }
    // The lower median: a whole number of steps, as a run takes.
    return new RunReport.PerRun(
        sorted.length,
        sum / sorted.length,
        sorted[(sorted.length - 1) / 2],
        sorted[sorted.length - 1]);
  }

  private static RunReport.PerStep perStep(LatencyStats stats) {
    return new RunReport.PerStep(
        stats.count(),
        stats.percentile(50),
        stats.percentile(95),
        stats.percentile(99),
        stats.percentile(100));
  }
}
