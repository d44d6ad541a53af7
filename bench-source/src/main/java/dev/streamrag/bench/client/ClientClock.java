package dev.streamrag.bench.client;

import java.time.Instant;

/** The wall clock clients stamp with, in epoch microseconds. */
public final class ClientClock {
  private ClientClock() {}

  public static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  public static long micros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
  }
}
