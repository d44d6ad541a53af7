package dev.streamrag.inference.output;

import java.util.regex.Pattern;

/**
 * What a tenant may read of a failure: the code, and a message with the platform's insides taken
 * out. Responses and streamed pieces reach tenants, so a message must not name internal endpoints
 * (URLs, host:port, addresses) nor repeat what an upstream server answered (an HTTP error body may
 * hold anything: a stack trace, a configuration, another tenant's prompt). Operators find the full
 * failure in the job's logs and the latency record's error code.
 */
public final class ClientErrors {
  private ClientErrors() {}

  private static final int MAX_CHARS = 300;
  private static final Pattern URL = Pattern.compile("\\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s\"'<>]+");
  private static final Pattern IP_ADDRESS =
      Pattern.compile("/?\\b\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d{1,5})?\\b");
  private static final Pattern HOST_PORT =
      Pattern.compile("\\b[a-zA-Z][a-zA-Z0-9-]*(?:\\.[a-zA-Z0-9-]+)*:\\d{2,5}\\b");
  private static final Pattern UPSTREAM_HTTP = Pattern.compile("^[a-z]+\\.http_(\\d{3})$");

  /** An upstream failure quoted inside another ({@code last failure llm.http_500: <body>}). */
  private static final Pattern QUOTED_HTTP = Pattern.compile("\\bhttp_\\d{3}");

  private static final Pattern REFERENCE = Pattern.compile("\\$\\{[^}]*}");

  /** The message a tenant sees for a failure with {@code code}. */
  public static String message(String code, String message) {
    var http = code == null ? null : UPSTREAM_HTTP.matcher(code);
    if (http != null && http.matches()) {
      // The status says what went wrong; the body is the upstream server's, not ours to pass on.
      return "the " + upstream(code) + " answered HTTP " + http.group(1);
    }
    if (code != null && code.startsWith("retrieval.")) {
      // Search failures name the index, the service's user and its answer: none of it the tenant's.
      return "the search service failed (" + code + ")";
    }
    if (message == null) {
      return null;
    }
    var quoted = QUOTED_HTTP.matcher(message);
    if (quoted.find()) {
      message = message.substring(0, quoted.end()); // the status stays, the body goes
    }
    String scrubbed = REFERENCE.matcher(message).replaceAll("<secret reference>");
    scrubbed = URL.matcher(scrubbed).replaceAll("<internal endpoint>");
    scrubbed = IP_ADDRESS.matcher(scrubbed).replaceAll("<internal address>");
    scrubbed = HOST_PORT.matcher(scrubbed).replaceAll("<internal address>");
    return scrubbed.length() <= MAX_CHARS ? scrubbed : scrubbed.substring(0, MAX_CHARS) + "…";
  }

  /**
   * An endpoint as a tenant may see it: a stable label ({@code llm-3fa2b1c0}, from a hash of the
   * URL) that tells answers from different servers apart without naming any.
   */
  public static String endpointLabel(String endpoint) {
    if (endpoint == null) {
      return null;
    }
    byte[] digest;
    try {
      digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(endpoint.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    return "llm-" + java.util.HexFormat.of().formatHex(digest, 0, 4);
  }

  private static String upstream(String code) {
    return switch (code.substring(0, code.indexOf('.'))) {
      case "llm" -> "LLM server";
      case "tool" -> "tool server";
      case "retrieval" -> "search service";
      default -> "upstream service";
    };
  }
}
