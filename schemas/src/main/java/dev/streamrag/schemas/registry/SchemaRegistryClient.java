package dev.streamrag.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.schemas.codec.SchemaRegistryUnavailableException;
import dev.streamrag.schemas.codec.WriterSchemaLookup;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The Confluent schema-registry REST API, the subset a Kafka serializer uses: a schema by its id,
 * and a subject's id for a schema (registering it, or only looking it up). Confluent Schema
 * Registry, Apicurio Registry (under {@code /apis/ccompat/v7}), Karapace and Redpanda all serve it.
 * Written on the JDK's HTTP client because the registry clients on Maven Central pull in a
 * framework each (Confluent's is not published there at all), and these are three calls.
 *
 * <p>Schemas by id never change in a registry, so they are cached for good (up to {@value
 * #MAX_CACHED} ids). An id the registry does not know is remembered for {@link #NEGATIVE_TTL}, so a
 * stream of records with made-up ids cannot turn into a stream of registry requests. A failed call
 * (unreachable, timeout, 5xx, 429) is retried with backoff until {@code timeout} has passed, then
 * reported as {@link SchemaRegistryUnavailableException}.
 *
 * <p>Thread-safe.
 */
public final class SchemaRegistryClient implements WriterSchemaLookup {
  static final int MAX_CACHED = 1000;
  static final Duration NEGATIVE_TTL = Duration.ofMinutes(1);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final Duration timeout;
  private final HttpClient http;
  private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();
  private final Map<Integer, Long> unknownUntil = new ConcurrentHashMap<>();
  private final Map<String, Integer> subjectIds = new ConcurrentHashMap<>();

  /**
   * @param url the API's base URL, e.g. {@code http://registry:8081} or Apicurio's {@code
   *     http://registry:8080/apis/ccompat/v7}
   * @param timeout how long one call may keep retrying before the registry counts as unavailable
   */
  public SchemaRegistryClient(String url, Duration timeout) {
    Objects.requireNonNull(url, "url");
    String trimmed = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    this.base = URI.create(trimmed);
    if (base.getScheme() == null
        || !(base.getScheme().equals("http") || base.getScheme().equals("https"))
        || base.getHost() == null) {
      throw new IllegalArgumentException(
          "schema registry URL must be http(s)://host[:port][/path], got '" + url + "'");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("schema registry timeout must be positive: " + timeout);
    }
    this.timeout = timeout;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofMillis(Math.min(timeout.toMillis(), 5_000)))
            .build();
  }

  /** The writer schema registered under {@code id}; null if the registry has none. */
  @Override
  public Schema schemaById(int id) {
    Schema cached = byId.get(id);
    if (cached != null) {
      return cached;
    }
    Long until = unknownUntil.get(id);
    if (until != null && until > System.nanoTime()) {
      return null;
    }
    Reply reply = call(HttpRequest.newBuilder(uri("/schemas/ids/" + id)).GET(), "schema " + id);
    if (reply.status == 404) {
      if (unknownUntil.size() >= MAX_CACHED * 10) {
        unknownUntil.clear();
      }
      unknownUntil.put(id, System.nanoTime() + NEGATIVE_TTL.toNanos());
      return null;
    }
    JsonNode body = reply.json("schema " + id);
    String type = body.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new IllegalArgumentException("schema id " + id + " is a " + type + " schema, not Avro");
    }
    Schema schema;
    try {
      schema = new Schema.Parser().parse(body.path("schema").asText());
    } catch (SchemaParseException e) {
      throw new IllegalArgumentException(
          "schema id " + id + " is not a schema this reader can parse: " + e.getMessage(), e);
    }
    if (byId.size() < MAX_CACHED) {
      byId.put(id, schema);
    }
    return schema;
  }

  /**
   * The id of {@code schema} under {@code subject} (e.g. {@code rag.responses-value}, the topic
   * name strategy), registering it as a new version if {@code register} and it is not there yet.
   *
   * @throws IllegalStateException if the registry refuses it (409: incompatible with the subject's
   *     compatibility rule; 422: invalid) or, without {@code register}, does not hold it
   */
  public int idFor(String subject, Schema schema, boolean register) {
    String key = subject + '\n' + register + '\n' + schema;
    Integer cached = subjectIds.get(key);
    if (cached != null) {
      return cached;
    }
    ObjectNode request = JSON.createObjectNode().put("schema", schema.toString());
    String path =
        "/subjects/"
            + URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20")
            + (register ? "/versions" : "");
    String what = (register ? "registering " : "looking up ") + "subject " + subject;
    Reply reply =
        call(
            HttpRequest.newBuilder(uri(path))
                .header("Content-Type", CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofString(request.toString())),
            what);
    if (reply.status == 404) {
      throw new IllegalStateException(
          what
              + ": the registry does not hold "
              + schema.getFullName()
              + " under it (register it, or turn on schema-registry.auto-register): "
              + reply.body);
    }
    if (reply.status >= 400) {
      throw new IllegalStateException(what + " refused (HTTP " + reply.status + "): " + reply.body);
    }
    JsonNode id = reply.json(what).path("id");
    if (!id.canConvertToInt()) {
      throw new IllegalStateException(what + ": no id in the reply " + reply.body);
    }
    subjectIds.put(key, id.intValue());
    return id.intValue();
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  /** One call, retried on failures that say nothing about the request, until the timeout. */
  private Reply call(HttpRequest.Builder request, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long backoffMillis = 100;
    String last;
    Exception cause = null;
    while (true) {
      long left = deadline - System.nanoTime();
      try {
        HttpResponse<String> response =
            http.send(
                request
                    .timeout(Duration.ofNanos(Math.max(left, 1_000_000)))
                    .header("Accept", CONTENT_TYPE + ", application/json")
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        int status = response.statusCode();
        if (status < 500 && status != 429 && status != 401 && status != 403) {
          return new Reply(status, response.body());
        }
        last = "HTTP " + status + ": " + abbreviate(response.body());
        cause = null;
      } catch (IOException e) {
        last = e.toString();
        cause = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryUnavailableException(what + ": interrupted", e);
      }
      if (System.nanoTime() + backoffMillis * 1_000_000 >= deadline) {
        throw new SchemaRegistryUnavailableException(
            "schema registry " + base + " unavailable for " + timeout + " (" + what + "): " + last,
            cause);
      }
      try {
        Thread.sleep(backoffMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryUnavailableException(what + ": interrupted", e);
      }
      backoffMillis = Math.min(backoffMillis * 2, 2_000);
    }
  }

  private static String abbreviate(String body) {
    return body == null || body.length() <= 200
        ? String.valueOf(body)
        : body.substring(0, 200) + "…";
  }

  private record Reply(int status, String body) {
    JsonNode json(String what) {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new IllegalStateException(
            what + ": the registry answered no JSON: " + abbreviate(body), e);
      }
    }
  }

  @Override
  public String toString() {
    return "SchemaRegistryClient[" + base + "]";
  }
}
