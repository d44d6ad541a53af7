package dev.streamrag.inference.agent;

import java.time.Duration;
import java.util.Map;

/**
 * One tool call as the job makes it.
 *
 * @param tenant the request's tenant: tools that read data read this tenant's only, whatever the
 *     arguments say
 * @param arguments the model's arguments, parsed and checked against the tool's schema
 * @param idempotencyKey {@code requestId:step:call}, the same when a call is made again after a
 *     failover, so that a tool server can answer it from memory instead of acting twice
 * @param timeout how long the call may take
 */
public record ToolInvocation(
    String tenant, Map<String, Object> arguments, String idempotencyKey, Duration timeout) {}
