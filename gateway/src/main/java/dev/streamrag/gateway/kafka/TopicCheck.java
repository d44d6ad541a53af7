package dev.streamrag.gateway.kafka;

/**
 * Whether the topics a gateway needs exist, with the reply partition it was given.
 *
 * @param message why not, for the operator; null when OK
 */
public record TopicCheck(Outcome outcome, String message) {
  public enum Outcome {
    OK,
    /** Kafka did not answer in time: nothing is known about the topics. */
    UNREACHABLE,
    /** Kafka answered, and a topic or the reply partition is missing: a configuration error. */
    MISCONFIGURED
  }

  static final TopicCheck OK = new TopicCheck(Outcome.OK, null);

  public boolean isOk() {
    return outcome == Outcome.OK;
  }
}
