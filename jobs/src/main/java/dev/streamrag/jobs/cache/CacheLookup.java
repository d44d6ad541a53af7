package dev.streamrag.jobs.cache;

/**
 * The outcome of a cache read. A cache that cannot be reached is a status, not an exception: the
 * request goes on without the cache, and the status is counted.
 *
 * @param value the cached bytes on a HIT, else null
 * @param reason why the cache was UNAVAILABLE, else null
 */
public record CacheLookup(Status status, byte[] value, String reason) {
  /** HIT: found. MISS: not there. UNAVAILABLE: Redis down, slow or failing. */
  public enum Status {
    HIT,
    MISS,
    UNAVAILABLE
  }

  static CacheLookup hit(byte[] value) {
    return new CacheLookup(Status.HIT, value, null);
  }

  static final CacheLookup MISS = new CacheLookup(Status.MISS, null, null);

  static CacheLookup unavailable(Throwable cause) {
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return new CacheLookup(
        Status.UNAVAILABLE, null, root.getClass().getSimpleName() + ": " + root.getMessage());
  }
}
