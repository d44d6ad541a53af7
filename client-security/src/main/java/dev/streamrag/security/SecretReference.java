package dev.streamrag.security;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a secret is, not what it is: {@code ${env:NAME}} (an environment variable), {@code
 * ${file:PATH:KEY}} (a key of a Java properties file) or {@code ${dir:DIR:FILE}} (the whole of
 * DIR/FILE, trimmed; a mounted Kubernetes Secret is such a directory). The syntax is Kafka's
 * config-provider syntax, so one reference means the same in a job setting and in a Kafka client
 * property.
 *
 * <p>A reference is resolved by the process that opens the client: on a TaskManager, in the
 * operator's {@code open()}. Only the reference is in a ConfigMap, the job arguments and the job
 * graph. {@link #toString()} shows the reference, never the value.
 */
public final class SecretReference implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern WHOLE = Pattern.compile("\\$\\{(env|file|dir):([^}]+)}");

  /** Where a reference points. */
  public enum Source {
    ENV,
    FILE,
    DIR
  }

  private final Source source;
  private final String location;
  private final String key;

  private SecretReference(Source source, String location, String key) {
    this.source = source;
    this.location = location;
    this.key = key;
  }

  /** The reference {@code text} is, or empty if it is not exactly one reference. */
  public static Optional<SecretReference> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    Matcher matcher = WHOLE.matcher(text.strip());
    if (!matcher.matches()) {
      return Optional.empty();
    }
    String body = matcher.group(2);
    return switch (matcher.group(1)) {
      case "env" -> Optional.of(new SecretReference(Source.ENV, body, null));
      default -> {
        // PATH:KEY, where PATH may itself hold ':' (a Windows drive); KEY never does.
        int colon = body.lastIndexOf(':');
        if (colon <= 0 || colon == body.length() - 1) {
          yield Optional.empty();
        }
        Source source = matcher.group(1).equals("file") ? Source.FILE : Source.DIR;
        yield Optional.of(
            new SecretReference(source, body.substring(0, colon), body.substring(colon + 1)));
      }
    };
  }

  /** True if {@code text} contains a reference anywhere (Kafka resolves them inside values). */
  public static boolean containsReference(String text) {
    return text != null && WHOLE.matcher(text).find();
  }

  /**
   * The reference a secret-bearing setting holds: empty if the setting is unset or blank. A literal
   * value is refused, naming the setting and how to write a reference, so no secret is ever put
   * where it would travel in a job graph or sit in a ConfigMap.
   *
   * @throws IllegalArgumentException if {@code value} is set but is not a reference
   */
  public static Optional<SecretReference> ofSetting(String setting, String value) {
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(
        parse(value)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        setting
                            + " must be a secret reference, not the secret itself: ${env:NAME},"
                            + " ${file:PATH:KEY} or ${dir:DIR:FILE} (e.g. a mounted Kubernetes"
                            + " Secret), so that the secret is read where the client opens and"
                            + " never travels in a job graph, a ConfigMap or job arguments")));
  }

  /** Reads the secret now, from the process environment and files. */
  public String resolve() {
    return resolve(System.getenv());
  }

  /**
   * Reads the secret now.
   *
   * @throws IllegalStateException naming the reference (never a value) if it cannot be read
   */
  public String resolve(Map<String, String> env) {
    String value =
        switch (source) {
          case ENV -> env.get(location);
          case FILE -> readProperty(Path.of(location), key);
          case DIR -> readWhole(Path.of(location).resolve(key));
        };
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException("the secret " + this + " is not set or is empty");
    }
    return value;
  }

  private String readProperty(Path file, String name) {
    try {
      return PropertiesFiles.read(file).get(name);
    } catch (IOException e) {
      // The exception names the file only; its message cannot carry the content.
      throw new IllegalStateException("cannot read the secret " + this + ": " + e, e);
    }
  }

  private String readWhole(Path file) {
    try {
      return Files.readString(file).strip();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the secret " + this + ": " + e, e);
    }
  }

  public Source source() {
    return source;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SecretReference other
        && source == other.source
        && location.equals(other.location)
        && Objects.equals(key, other.key);
  }

  @Override
  public int hashCode() {
    return Objects.hash(source, location, key);
  }

  /** The reference as it was written; it names where the secret is and holds no part of it. */
  @Override
  public String toString() {
    return switch (source) {
      case ENV -> "${env:" + location + "}";
      case FILE -> "${file:" + location + ":" + key + "}";
      case DIR -> "${dir:" + location + ":" + key + "}";
    };
  }
}
