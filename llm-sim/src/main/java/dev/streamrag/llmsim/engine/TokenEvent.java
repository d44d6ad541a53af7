package dev.streamrag.llmsim.engine;

/**
 * One output token leaving the engine at the end of a step.
 *
 * @param index 0 for the first token (its time is the request's TTFT), then 1, 2, ...
 * @param last true for the request's final token
 * @param atMicros when the step that produced it ended, on the engine's clock
 */
public record TokenEvent(String requestId, int index, boolean last, long atMicros) {}
