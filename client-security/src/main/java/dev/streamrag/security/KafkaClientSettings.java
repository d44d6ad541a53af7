package dev.streamrag.security;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How every Kafka client of the platform connects: the brokers, plus standard Kafka client
 * properties (SASL/SCRAM, SASL/OAUTHBEARER, mTLS, ...) from a properties file and pass-through
 * settings. Sources, sinks, admin clients, producers and consumers all start from {@link
 * #toProperties()}, so one file secures them all.
 *
 * <p>Secrets are never values here: a property that holds one (a password, a key, a JAAS
 * configuration's password or client secret) must be a reference such as {@code
 * ${dir:/etc/streamrag/secrets/kafka:sasl.jaas.config}}, which the Kafka client resolves when it
 * starts, through the config providers {@link #toProperties()} registers. The settings therefore
 * hold no secret and can be serialized into a Flink job graph.
 */
public final class KafkaClientSettings implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Properties the platform sets itself; a file setting them would be silently overridden. */
  private static final Set<String> OWNED =
      Set.of(
          "bootstrap.servers",
          "key.serializer",
          "value.serializer",
          "key.deserializer",
          "value.deserializer",
          "transactional.id",
          "group.id");

  /** Client properties whose values are secrets. */
  private static final Set<String> SECRET_PROPERTIES =
      Set.of(
          "ssl.keystore.password",
          "ssl.key.password",
          "ssl.truststore.password",
          "ssl.keystore.key",
          "sasl.oauthbearer.client.credentials.client.secret",
          "basic.auth.user.info");

  /**
   * A JAAS option that holds a secret: {@code password="..."}, {@code clientSecret='...'} or
   * unquoted, as Kafka's JAAS parser (a StreamTokenizer) accepts all three.
   */
  private static final Pattern JAAS_SECRET_OPTION =
      Pattern.compile(
          "(\\w*(?:password|secret|token)\\w*)\\s*=\\s*(\"[^\"]*\"|'[^']*'|[^\\s;]+)",
          Pattern.CASE_INSENSITIVE);

  private final String bootstrapServers;
  private final TreeMap<String, String> properties;

  private KafkaClientSettings(String bootstrapServers, Map<String, String> properties) {
    this.bootstrapServers = bootstrapServers;
    this.properties = new TreeMap<>(properties);
  }

  /** Plaintext, unauthenticated: the brokers only. */
  public static KafkaClientSettings plaintext(String bootstrapServers) {
    return of(bootstrapServers, null, Map.of());
  }

  /**
   * The brokers, the properties in {@code propertiesFile} (if not null) and then {@code
   * passThrough} (which win).
   *
   * @throws IllegalArgumentException naming the property, if one the platform sets itself is given,
   *     or a secret is given as a value instead of a reference
   */
  public static KafkaClientSettings of(
      String bootstrapServers, Path propertiesFile, Map<String, String> passThrough) {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("the Kafka bootstrap servers are required");
    }
    Map<String, String> properties = new TreeMap<>();
    if (propertiesFile != null) {
      properties.putAll(read(propertiesFile));
    }
    properties.putAll(passThrough);
    List<String> problems = new ArrayList<>();
    properties.forEach(
        (key, value) -> {
          String origin =
              passThrough.containsKey(key) ? "setting " : "property in " + propertiesFile + ": ";
          if (OWNED.contains(key)) {
            problems.add(
                origin
                    + key
                    + " is set by the platform itself (bootstrap servers: use"
                    + " kafka.bootstrap-servers)");
          } else if (isSecretProperty(key) && SecretReference.parse(value).isEmpty()) {
            problems.add(
                origin
                    + key
                    + " holds a secret: write a reference instead, such as"
                    + " ${dir:/etc/streamrag/secrets/kafka:"
                    + key
                    + "} or ${env:NAME}");
          } else if (key.equals("sasl.jaas.config") && !jaasSecretsAreReferences(value)) {
            problems.add(
                origin
                    + key
                    + " has a password, secret or token written out: make the"
                    + " whole value a reference (Strimzi's KafkaUser Secret has a sasl.jaas.config"
                    + " key: ${dir:/etc/streamrag/secrets/kafka:sasl.jaas.config}) or each secret"
                    + " option one (password=\"${env:KAFKA_PASSWORD}\")");
          }
        });
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          "Kafka client properties refused: " + String.join("; ", problems));
    }
    return new KafkaClientSettings(bootstrapServers, properties);
  }

  private static boolean isSecretProperty(String key) {
    String lower = key.toLowerCase(Locale.ROOT);
    return SECRET_PROPERTIES.contains(lower)
        || lower.endsWith(".password")
        || lower.endsWith(".secret");
  }

  private static boolean jaasSecretsAreReferences(String jaas) {
    if (SecretReference.parse(jaas).isPresent()) {
      return true;
    }
    Matcher matcher = JAAS_SECRET_OPTION.matcher(jaas);
    while (matcher.find()) {
      String value = matcher.group(2);
      if (value.startsWith("\"") || value.startsWith("'")) {
        value = value.substring(1, value.length() - 1);
      }
      if (SecretReference.parse(value).isEmpty()) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, String> read(Path file) {
    try {
      return PropertiesFiles.read(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the Kafka client properties " + file, e);
    }
  }

  /**
   * A new set of client properties: the brokers, the configured properties and, when a value holds
   * a reference and no providers are configured, the providers that resolve {@code env}, {@code
   * file} and {@code dir} references in the client.
   */
  public Properties toProperties() {
    Properties result = new Properties();
    result.putAll(properties);
    result.setProperty("bootstrap.servers", bootstrapServers);
    boolean referenced = properties.values().stream().anyMatch(SecretReference::containsReference);
    if (referenced && !properties.containsKey("config.providers")) {
      result.setProperty("config.providers", "env,file,dir");
      result.setProperty("config.providers.env.class", EnvVarConfigProvider.class.getName());
      result.setProperty(
          "config.providers.file.class",
          "org.apache.kafka.common.config.provider.FileConfigProvider");
      result.setProperty(
          "config.providers.dir.class",
          "org.apache.kafka.common.config.provider.DirectoryConfigProvider");
    }
    return result;
  }

  /** {@link #toProperties()} as a map, for clients configured with one. */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new TreeMap<>();
    toProperties().forEach((key, value) -> map.put((String) key, value));
    return map;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The configured client properties, without the brokers and providers. */
  public Map<String, String> properties() {
    return Collections.unmodifiableMap(properties);
  }

  /** True if the brokers are reached in plaintext and without authentication. */
  public boolean isPlaintext() {
    return properties.getOrDefault("security.protocol", "PLAINTEXT").equalsIgnoreCase("PLAINTEXT");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KafkaClientSettings other
        && bootstrapServers.equals(other.bootstrapServers)
        && properties.equals(other.properties);
  }

  @Override
  public int hashCode() {
    return bootstrapServers.hashCode() * 31 + properties.hashCode();
  }

  /** The brokers and property names; values only where they cannot be secrets. */
  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("Kafka ").append(bootstrapServers).append(" {");
    properties.forEach(
        (key, value) ->
            text.append(key)
                .append('=')
                .append(
                    isSecretProperty(key) || key.equals("sasl.jaas.config") ? "(hidden)" : value)
                .append(", "));
    if (!properties.isEmpty()) {
      text.setLength(text.length() - 2);
    }
    return text.append('}').toString();
  }
}
