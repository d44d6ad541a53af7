package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Where the build put the server distributions (module {@code test-support/server-dists}): the
 * Kafka broker classpath, the OpenSearch, k-NN and security plugin zips, the jar with redis-server
 * binaries and the schema registry's runnable jar.
 */
public final class ServerDists {
  private static final String RESOURCE = "streamrag/server-dists.properties";
  private final Properties properties;

  private ServerDists(Properties properties) {
    this.properties = properties;
  }

  public static ServerDists load() {
    ClassLoader loader = ServerDists.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new ServerStartException(
            RESOURCE
                + " is not on the classpath: depend on streamrag-server-dists (with an exclusion"
                + " of *:*) and build it with ./mvnw first.");
      }
      Properties properties = new Properties();
      properties.load(in);
      return new ServerDists(properties);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String kafkaVersion() {
    return required("kafka.version");
  }

  public String kafkaClasspath() {
    String resource = required("kafka.classpath.resource");
    try (InputStream in = ServerDists.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new ServerStartException(resource + " is missing from streamrag-server-dists");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String openSearchVersion() {
    return required("opensearch.version");
  }

  public Path openSearchZip() {
    return existingFile("opensearch.zip");
  }

  public Path knnPluginZip() {
    return existingFile("opensearch-knn.zip");
  }

  /** The security plugin, for a node with TLS and logins ({@code OpenSearchServer.startSecure}). */
  public Path securityPluginZip() {
    return existingFile("opensearch-security.zip");
  }

  public Path embeddedRedisJar() {
    return existingFile("embedded-redis.jar");
  }

  /** The runnable Apicurio Registry that module test-support/schema-registry builds. */
  public Path schemaRegistryRunner() {
    return existingFile("schema-registry.runner");
  }

  private Path existingFile(String key) {
    Path path = Path.of(required(key));
    if (!Files.isRegularFile(path)) {
      throw new ServerStartException(
          key
              + " points at "
              + path
              + ", which does not exist: run ./mvnw install once to fetch it.");
    }
    return path;
  }

  private String required(String key) {
    String value = properties.getProperty(key);
    if (value == null || value.isBlank() || value.startsWith("${")) {
      throw new ServerStartException(key + " was not filled in by the server-dists build");
    }
    return value;
  }
}
