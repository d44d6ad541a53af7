package dev.streamrag.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.codec.SchemaRegistryUnavailableException;
import dev.streamrag.schemas.codec.UnusableWriterSchemaException;
import dev.streamrag.schemas.codec.WriterSchemaLookup;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * The Confluent schema-registry REST API, the subset a Kafka serializer uses: a schema by its id,
 * and a subject's id for a schema (registering it, or only looking it up). Confluent Schema
 * Registry, Apicurio Registry (under {@code /apis/ccompat/v7}), Karapace and Redpanda all serve it.
 * Written on the JDK's HTTP client because the registry clients on Maven Central pull in a
 * framework each (Confluent's is not published there at all), and these are three calls.
 *
 * <p>What each answer means for a record, since a wrong guess either dead-letters good records or
 * restarts a job forever:
 *
 * <ul>
 *   <li>200 with an Avro schema: the writer schema, cached for good (schemas by id never change).
 *   <li>404 with error code 40403 (the registries' "schema not found"): the id is unknown, a
 *       permanent answer, remembered for {@link #UNKNOWN_TTL}.
 *   <li>200 with a schema that cannot be read as Avro (another type, references, too large, does
 *       not parse): {@link UnusableWriterSchemaException}, also remembered.
 *   <li>Anything else (unreachable, timeout, 5xx, 429, 3xx, another 404, an answer that is not a
 *       registry's): retried with backoff until {@code timeout}, then {@link
 *       SchemaRegistryUnavailableException}. A base URL without the API path (Apicurio's {@code
 *       /apis/ccompat/v7}) lands here, saying so, instead of making every id look unknown. 401 and
 *       403 fail at once: this client sends no credentials.
 * </ul>
 *
 * <p>Ids a producer could make up cannot turn into a flood of registry requests: ids below 1 are
 * refused locally (registries start at 1), answers are kept in one LRU bounded by entries and
 * schema size, and lookups that miss it are spaced at least {@link #MISS_INTERVAL} apart, which
 * slows the reading thread (backpressure) rather than the registry.
 *
 * <p>Thread-safe. URLs with credentials ({@code user:password@}) are refused, so no message can
 * carry them.
 */
public final class SchemaRegistryClient implements WriterSchemaLookup {
  static final int MAX_CACHED = 1000;
  static final long MAX_CACHED_CHARS = 16L << 20;
  static final int MAX_BODY_BYTES = 4 << 20;
  static final Duration UNKNOWN_TTL = Duration.ofMinutes(1);
  static final Duration MISS_INTERVAL = Duration.ofMillis(20);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String ACCEPT = CONTENT_TYPE + ", application/json";
  private static final int SCHEMA_NOT_FOUND = 40403;
  private static final int SUBJECT_NOT_FOUND = 40401;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final Duration timeout;
  private final HttpClient http;
  private final Map<Integer, Answer> byId = new LinkedHashMap<>(64, 0.75f, true);
  private long cachedChars;
  private long nextMissNanos;
  private final Map<String, Integer> subjectIds = new ConcurrentHashMap<>();

  /** What the registry said about one id. */
  private record Answer(Schema schema, String unusable, long expiresNanos, long chars) {}

  /**
   * @param url the API's base URL, e.g. {@code http://registry:8081} or Apicurio's {@code
   *     http://registry:8080/apis/ccompat/v7}
   * @param timeout how long one call may keep retrying before the registry counts as unavailable
   */
  public SchemaRegistryClient(String url, Duration timeout) {
    this.base = checkUrl(url);
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("schema registry timeout must be positive: " + timeout);
    }
    this.timeout = timeout;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofMillis(Math.min(timeout.toMillis(), 5_000)))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /**
   * Checks a registry base URL the way the client will use it; the message never repeats a URL that
   * holds credentials.
   */
  public static URI checkUrl(String url) {
    Objects.requireNonNull(url, "url");
    String trimmed = url.trim();
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    URI uri;
    try {
      uri = URI.create(trimmed);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("schema registry URL is not a URL");
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "schema registry URL must not hold credentials (user:password@); registry"
              + " authentication is not supported yet");
    }
    if (uri.getScheme() == null
        || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
        || uri.getHost() == null
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "schema registry URL must be http(s)://host[:port][/path], got '" + trimmed + "'");
    }
    return uri;
  }

  /** The writer schema registered under {@code id}; null if the registry has none. */
  @Override
  public Schema schemaById(int id) {
    if (id < 1) {
      return null; // no registry hands out ids below 1
    }
    Answer cached = cached(id);
    if (cached == null) {
      awaitMissSlot();
      cached = fetch(id);
      remember(id, cached);
    }
    if (cached.unusable() != null) {
      throw new UnusableWriterSchemaException(cached.unusable());
    }
    return cached.schema();
  }

  private synchronized Answer cached(int id) {
    Answer answer = byId.get(id);
    if (answer != null && answer.expiresNanos() != 0 && answer.expiresNanos() < System.nanoTime()) {
      byId.remove(id);
      cachedChars -= answer.chars();
      return null;
    }
    return answer;
  }

  private synchronized void remember(int id, Answer answer) {
    Answer previous = byId.put(id, answer);
    if (previous != null) {
      cachedChars -= previous.chars();
    }
    cachedChars += answer.chars();
    Iterator<Map.Entry<Integer, Answer>> eldest = byId.entrySet().iterator();
    while ((byId.size() > MAX_CACHED || cachedChars > MAX_CACHED_CHARS) && eldest.hasNext()) {
      Answer evicted = eldest.next().getValue();
      eldest.remove();
      cachedChars -= evicted.chars();
    }
  }

  /** Spaces lookups that missed the cache; the caller (a source's reader thread) waits. */
  private void awaitMissSlot() {
    long wait;
    synchronized (this) {
      long now = System.nanoTime();
      long slot = Math.max(now, nextMissNanos);
      nextMissNanos = slot + MISS_INTERVAL.toNanos();
      wait = slot - now;
    }
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryUnavailableException("interrupted while waiting to ask", e);
      }
    }
  }

  private Answer fetch(int id) {
    String what = "schema id " + id;
    Reply reply = call(() -> HttpRequest.newBuilder(uri("/schemas/ids/" + id)).GET(), what, 404);
    if (reply.status == 404) {
      if (reply.errorCode() == SCHEMA_NOT_FOUND) {
        return new Answer(null, null, System.nanoTime() + UNKNOWN_TTL.toNanos(), 0);
      }
      throw misconfigured(what, reply);
    }
    if (reply.truncated) {
      return unusable(what + " is larger than " + MAX_BODY_BYTES + " bytes");
    }
    JsonNode body = reply.jsonOrNull();
    if (body == null || !body.path("schema").isTextual()) {
      throw misconfigured(what, reply);
    }
    String type = body.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      return unusable(what + " is a " + abbreviate(type) + " schema, not Avro");
    }
    if (body.path("references").size() > 0) {
      return unusable(what + " uses schema references, which this reader does not resolve");
    }
    String text = body.path("schema").asText();
    try {
      return new Answer(new Schema.Parser().parse(text), null, 0, text.length());
    } catch (RuntimeException e) { // SchemaParseException, AvroTypeException (bad default), ...
      return unusable(what + " does not parse as an Avro schema: " + abbreviate(e.getMessage()));
    }
  }

  private static Answer unusable(String why) {
    return new Answer(null, why, 0, why.length());
  }

  /**
   * The id of {@code schema} under {@code subject} (e.g. {@code rag.responses-value}, the topic
   * name strategy). With {@code register}, registers it as a new version if it is not there yet (a
   * registry returns the existing id for a schema it holds). Without, looks it up; if the registry
   * holds it under a different text (another tool registered it), the subject's latest version is
   * used when it has the same Parsing Canonical Form, i.e. the same binary encoding. Java-only
   * properties ({@code avro.java.string}) are left out of what is registered.
   *
   * @throws IllegalStateException if the registry refuses it (409: incompatible with the subject's
   *     compatibility rule; 422: invalid) or, without {@code register}, does not hold it
   */
  public int idFor(String subject, Schema schema, boolean register) {
    String text = withoutJavaProperties(schema);
    String key = subject + '\n' + register + '\n' + text;
    Integer cached = subjectIds.get(key);
    if (cached != null) {
      return cached;
    }
    String path =
        "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    String body = JSON.createObjectNode().put("schema", text).toString();
    String what = (register ? "registering " : "looking up ") + "subject " + subject;
    Reply reply =
        call(
            () ->
                HttpRequest.newBuilder(uri(path + (register ? "/versions" : "")))
                    .header("Content-Type", CONTENT_TYPE)
                    .POST(HttpRequest.BodyPublishers.ofString(body)),
            what,
            404,
            409,
            422);
    int id;
    if (reply.status == 200) {
      id = idIn(reply, what);
    } else if (reply.status == 404
        && !register
        && (reply.errorCode() == SCHEMA_NOT_FOUND || reply.errorCode() == SUBJECT_NOT_FOUND)) {
      id = latestWithSameEncoding(path, schema, what);
    } else if (reply.status == 404 && reply.errorCode() != SUBJECT_NOT_FOUND) {
      throw misconfigured(what, reply);
    } else {
      throw new IllegalStateException(
          what + " refused (HTTP " + reply.status + "): " + abbreviate(reply.body));
    }
    subjectIds.put(key, id);
    return id;
  }

  private int latestWithSameEncoding(String path, Schema schema, String what) {
    Reply latest =
        call(
            () -> HttpRequest.newBuilder(uri(path + "/versions/latest")).GET(),
            what + " (latest version)",
            404);
    JsonNode body = latest.jsonOrNull();
    if (latest.status == 200 && body != null && body.path("schema").isTextual()) {
      try {
        Schema registered = new Schema.Parser().parse(body.path("schema").asText());
        if (SchemaNormalization.parsingFingerprint64(registered)
            == SchemaNormalization.parsingFingerprint64(schema)) {
          return idIn(latest, what);
        }
      } catch (RuntimeException e) {
        // not ours either way: refused below
      }
    }
    throw new IllegalStateException(
        what
            + ": the registry does not hold "
            + schema.getFullName()
            + " under it (register it, or turn on schema-registry.auto-register): "
            + abbreviate(latest.body));
  }

  private static int idIn(Reply reply, String what) {
    JsonNode body = reply.jsonOrNull();
    if (body == null || !body.path("id").canConvertToInt() || body.path("id").intValue() < 1) {
      throw new IllegalStateException(what + ": no id in the reply " + abbreviate(reply.body));
    }
    return body.path("id").intValue();
  }

  /** The schema's JSON without {@code avro.java.*} properties, which only Java readers know. */
  static String withoutJavaProperties(Schema schema) {
    try {
      JsonNode tree = JSON.readTree(schema.toString());
      strip(tree);
      return JSON.writeValueAsString(tree);
    } catch (IOException e) {
      throw new IllegalStateException("Avro wrote a schema Jackson cannot read", e);
    }
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode object) {
      object.remove(
          object.properties().stream()
              .map(Map.Entry::getKey)
              .filter(k -> k.startsWith("avro.java."))
              .toList());
    }
    node.forEach(SchemaRegistryClient::strip);
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  private SchemaRegistryUnavailableException misconfigured(String what, Reply reply) {
    return new SchemaRegistryUnavailableException(
        what
            + ": HTTP "
            + reply.status
            + " is not a schema registry's answer; is "
            + base
            + " the registry API's base (Apicurio: .../apis/ccompat/v7)? "
            + abbreviate(reply.body),
        null);
  }

  /**
   * One call, retried on answers that say nothing about the request, until the timeout. {@code
   * expected} statuses besides 200 are returned to the caller.
   */
  private Reply call(Supplier<HttpRequest.Builder> request, String what, int... expected) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long backoffMillis = 100;
    String last;
    Exception cause;
    while (true) {
      long left = deadline - System.nanoTime();
      try {
        HttpResponse<InputStream> response =
            http.send(
                request
                    .get()
                    .timeout(Duration.ofNanos(Math.max(left, 1_000_000)))
                    .header("Accept", ACCEPT)
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        Reply reply = Reply.read(response);
        int status = reply.status;
        if (status == 401 || status == 403) {
          throw new SchemaRegistryUnavailableException(
              what
                  + ": HTTP "
                  + status
                  + " from "
                  + base
                  + "; the registry wants credentials, which this client does not send yet",
              null);
        }
        if (status == 200 || contains(expected, status)) {
          return reply;
        }
        last = "HTTP " + status + ": " + abbreviate(reply.body);
        cause = null;
      } catch (IOException e) {
        last = e.toString();
        cause = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryUnavailableException(what + ": interrupted", e);
      }
      long jittered = backoffMillis / 2 + (long) (Math.random() * backoffMillis / 2);
      if (System.nanoTime() + jittered * 1_000_000 >= deadline) {
        throw new SchemaRegistryUnavailableException(
            "schema registry " + base + " unavailable for " + timeout + " (" + what + "): " + last,
            cause);
      }
      try {
        Thread.sleep(jittered);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryUnavailableException(what + ": interrupted", e);
      }
      backoffMillis = Math.min(backoffMillis * 2, 2_000);
    }
  }

  private static boolean contains(int[] values, int value) {
    for (int v : values) {
      if (v == value) {
        return true;
      }
    }
    return false;
  }

  private static String abbreviate(String body) {
    if (body == null) {
      return "";
    }
    String flat = body.replaceAll("\\p{Cntrl}", " ");
    return flat.length() <= 200 ? flat : flat.substring(0, 200) + "…";
  }

  /** An answer, its body read up to {@link #MAX_BODY_BYTES}. */
  private record Reply(int status, String body, boolean truncated) {
    static Reply read(HttpResponse<InputStream> response) throws IOException {
      try (InputStream in = response.body()) {
        byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        boolean truncated = bytes.length > MAX_BODY_BYTES;
        String body =
            new String(bytes, 0, Math.min(bytes.length, MAX_BODY_BYTES), StandardCharsets.UTF_8);
        return new Reply(response.statusCode(), body, truncated);
      }
    }

    JsonNode jsonOrNull() {
      if (truncated) {
        return null;
      }
      try {
        JsonNode node = JSON.readTree(body);
        return node != null && node.isObject() ? node : null;
      } catch (IOException e) {
        return null;
      }
    }

    /** The registry's {@code error_code}, or 0. */
    int errorCode() {
      JsonNode node = jsonOrNull();
      return node == null ? 0 : node.path("error_code").asInt(0);
    }
  }

  @Override
  public String toString() {
    return "SchemaRegistryClient[" + base + "]";
  }
}
