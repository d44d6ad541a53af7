package dev.streamrag.schemas.codec;

import java.util.Objects;

/**
 * Why a message could not be decoded. This is a value, not an exception: jobs turn it into a {@code
 * DeadLetter} (or a REJECTED response when an id could still be read) and keep running.
 *
 * @param reason the category, with a stable code for dashboards and alerts
 * @param message a human-readable explanation, with the offending field's path where there is one
 * @param idHint the requestId (or docId) if it could still be read from the payload, else null
 * @param tenantHint the tenantId if it could still be read from the payload, else null
 */
public record DecodeFailure(Reason reason, String message, String idHint, String tenantHint) {

  public DecodeFailure {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(message, "message");
  }

  static DecodeFailure of(Reason reason, String message) {
    return new DecodeFailure(reason, message, null, null);
  }

  /** The stable code, e.g. {@code decode.malformed_json}. */
  public String code() {
    return reason.code();
  }

  /** Failure categories. Codes are part of the dead-letter contract: never rename one. */
  public enum Reason {
    EMPTY("decode.empty"),
    TOO_LARGE("decode.too_large"),
    UNKNOWN_ENCODING("decode.unknown_encoding"),
    UNKNOWN_SCHEMA("decode.unknown_schema"),
    MALFORMED_AVRO("decode.malformed_avro"),
    MALFORMED_JSON("decode.malformed_json"),
    INVALID_FIELD("decode.invalid_field");

    private final String code;

    Reason(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }
}
