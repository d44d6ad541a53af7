package dev.streamrag.schemas.codec;

/**
 * The schema registry could not answer (unreachable, timed out, 5xx): the one exception {@link
 * RecordCodec#decode} lets through, because it says nothing about the message. A Flink source fails
 * the task on it and the restarted task reads the message again, rather than dead-lettering a good
 * record during a registry outage.
 */
public class SchemaRegistryUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SchemaRegistryUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
