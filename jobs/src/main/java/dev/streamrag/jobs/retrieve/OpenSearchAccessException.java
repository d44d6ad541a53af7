package dev.streamrag.jobs.retrieve;

import javax.net.ssl.SSLException;

/**
 * OpenSearch would not let this client in: its login was refused (401), its user may not do what
 * was asked (403), or its certificate is not trusted (TLS). Configuration, not OpenSearch's health:
 * trying again changes nothing, so it should not count against OpenSearch (a circuit breaker) nor
 * be retried. The message names the settings to check and never holds a password.
 *
 * <p>It carries the original failure's message, not the failure itself, so that a walk to the root
 * cause ends here, at the explanation.
 */
public final class OpenSearchAccessException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** {@link #status()} of a TLS failure, which has no HTTP status. */
  public static final int TLS = -1;

  private static final int MAX_DETAIL_CHARS = 500;

  private final int status;

  private OpenSearchAccessException(int status, String message) {
    super(message);
    this.status = status;
  }

  /**
   * A 401 or 403 from {@code endpoint}.
   *
   * @param action what was refused, e.g. "search index rag-chunks"
   * @param detail OpenSearch's answer (clipped here; it never echoes a password)
   */
  public static OpenSearchAccessException refused(
      OpenSearchEndpoint endpoint, int status, String action, String detail) {
    String user = endpoint.username();
    String message;
    if (status == 401) {
      message =
          user == null
              ? "OpenSearch at "
                  + endpoint.url()
                  + " requires a login (401 Unauthorized): set opensearch.username and"
                  + " opensearch.password"
              : "OpenSearch at "
                  + endpoint.url()
                  + " refused the login of user "
                  + user
                  + " (401 Unauthorized): check opensearch.username and the password that"
                  + " opensearch.password "
                  + endpoint.password()
                  + " points at";
    } else {
      message =
          "OpenSearch user "
              + (user == null ? "(anonymous)" : user)
              + " may not "
              + action
              + " at "
              + endpoint.url()
              + " ("
              + status
              + "): grant its role the permission, or use an index it may use";
    }
    return new OpenSearchAccessException(status, message + "; OpenSearch said: " + clip(detail));
  }

  /** A TLS failure with {@code endpoint}: most often a certificate its trust does not cover. */
  public static OpenSearchAccessException untrusted(
      OpenSearchEndpoint endpoint, SSLException failure) {
    return new OpenSearchAccessException(
        TLS,
        "TLS with OpenSearch at "
            + endpoint.url()
            + " failed: "
            + clip(failure.getMessage())
            + (endpoint.caFile() == null
                ? "; opensearch.ca-file is empty, so the JVM's default trust is used: set it to"
                    + " the CA that signed OpenSearch's certificate"
                : "; is opensearch.ca-file "
                    + endpoint.caFile()
                    + " the CA that signed OpenSearch's certificate, issued for this host?"));
  }

  /** 401, 403, or {@link #TLS}. */
  public int status() {
    return status;
  }

  private static String clip(String text) {
    if (text == null) {
      return "no message";
    }
    String line = text.replaceAll("\\s+", " ").strip();
    return line.length() <= MAX_DETAIL_CHARS ? line : line.substring(0, MAX_DETAIL_CHARS) + "…";
  }
}
