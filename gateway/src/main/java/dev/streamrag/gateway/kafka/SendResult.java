package dev.streamrag.gateway.kafka;

import java.util.Objects;

/**
 * What became of one request produced to Kafka.
 *
 * @param error why it was not {@link Outcome#SENT}; null if it was
 * @param transientFailure for {@link Outcome#REFUSED}: whether sending again soon may succeed
 */
public record SendResult(Outcome outcome, Exception error, boolean transientFailure) {
  public enum Outcome {
    /** Kafka has the record. */
    SENT,
    /** The record was not stored: it never left the gateway, or the broker refused it. */
    REFUSED,
    /**
     * Delivery timed out while the record may have reached the broker: it may be stored, and
     * answered.
     */
    UNCERTAIN
  }

  public static final SendResult SENT = new SendResult(Outcome.SENT, null, false);

  public SendResult {
    Objects.requireNonNull(outcome, "outcome");
  }

  static SendResult refused(Exception error, boolean transientFailure) {
    return new SendResult(Outcome.REFUSED, error, transientFailure);
  }

  static SendResult uncertain(Exception error) {
    return new SendResult(Outcome.UNCERTAIN, error, true);
  }
}
