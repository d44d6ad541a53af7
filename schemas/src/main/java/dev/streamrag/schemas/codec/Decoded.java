package dev.streamrag.schemas.codec;

import java.util.Objects;

/**
 * The outcome of decoding one message: either a record and the encoding it arrived in, or a {@link
 * DecodeFailure}. Exactly one of {@link #value()} and {@link #failure()} is non-null.
 */
public final class Decoded<T> {
  private final T value;
  private final Encoding encoding;
  private final DecodeFailure failure;

  private Decoded(T value, Encoding encoding, DecodeFailure failure) {
    this.value = value;
    this.encoding = encoding;
    this.failure = failure;
  }

  static <T> Decoded<T> ok(T value, Encoding encoding) {
    return new Decoded<>(Objects.requireNonNull(value), Objects.requireNonNull(encoding), null);
  }

  static <T> Decoded<T> failed(DecodeFailure failure) {
    return new Decoded<>(null, null, Objects.requireNonNull(failure));
  }

  public boolean isOk() {
    return failure == null;
  }

  /** The decoded record, or null when decoding failed. */
  public T value() {
    return value;
  }

  /** The encoding the message arrived in, or null when decoding failed. */
  public Encoding encoding() {
    return encoding;
  }

  /** Why decoding failed, or null when it succeeded. */
  public DecodeFailure failure() {
    return failure;
  }

  @Override
  public String toString() {
    return isOk() ? "Decoded[" + encoding + ": " + value + "]" : "Decoded[" + failure + "]";
  }
}
