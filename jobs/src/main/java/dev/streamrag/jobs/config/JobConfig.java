package dev.streamrag.jobs.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.description.HtmlFormatter;
import org.apache.flink.util.TimeUtils;

/**
 * A job's settings from, lowest precedence first: the options' defaults, a properties or YAML file
 * ({@code --config FILE}; YAML maps nest keys with dots and lists become ';'-separated values),
 * environment variables ({@code STREAMRAG_} + the key upper-cased with dots and dashes as
 * underscores: {@code ingest.chunk-tokens} → {@code STREAMRAG_INGEST_CHUNK_TOKENS}), and flags
 * ({@code --ingest.chunk-tokens 200}). Options are declared with Flink's {@link ConfigOption}s, so
 * types and defaults live in one place; an unknown key in a file or flag fails at start with the
 * list of known keys, and a value of the wrong type fails naming the key. Keys under {@code
 * kafka.client.} pass through to every Kafka client (from a file or flags; see {@link
 * KafkaClients}).
 */
public final class JobConfig {
  private JobConfig() {}

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return "STREAMRAG_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  public static Configuration load(
      String[] args, Map<String, String> env, List<ConfigOption<?>> options) {
    Map<String, ConfigOption<?>> known = new LinkedHashMap<>();
    for (ConfigOption<?> option : options) {
      known.put(option.key(), option);
    }
    Map<String, String> flags = new LinkedHashMap<>();
    Path file = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException(
            "expected --key value pairs, got '"
                + arg
                + "'"
                + (i + 1 >= args.length ? " with no value" : ""));
      }
      String key = arg.substring(2);
      String value = args[++i];
      if (key.equals("config")) {
        file = Path.of(value);
      } else {
        flags.put(key, value);
      }
    }
    Map<String, String> values = new LinkedHashMap<>();
    if (file != null) {
      values.putAll(readFile(file));
    }
    for (String key : known.keySet()) {
      String fromEnv = env.get(envName(key));
      if (fromEnv != null) {
        values.put(key, fromEnv);
      }
    }
    values.putAll(flags);
    List<String> unknown = new ArrayList<>();
    for (String key : values.keySet()) {
      if (!known.containsKey(key) && !key.startsWith(CommonOptions.KAFKA_CLIENT_PREFIX)) {
        unknown.add(key);
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          "unknown setting(s) " + unknown + "; known: " + new TreeSet<>(known.keySet()));
    }
    Configuration configuration = Configuration.fromMap(values);
    for (ConfigOption<?> option : options) {
      try {
        configuration.get(option); // parse now, so a bad value fails at start
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "invalid value '"
                + values.get(option.key())
                + "' for "
                + option.key()
                + ": "
                + e.getMessage(),
            e);
      }
    }
    return configuration;
  }

  /** Reads {@code file} as YAML if its name ends in .yaml or .yml, else as Java properties. */
  public static Map<String, String> readFile(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return name.endsWith(".yaml") || name.endsWith(".yml") ? readYaml(file) : readProperties(file);
  }

  private static Map<String, String> readYaml(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read config file " + file, e);
    }
    Map<String, String> values = new LinkedHashMap<>();
    if (root != null && !root.isMissingNode() && !root.isNull()) {
      if (!root.isObject()) {
        throw new IllegalArgumentException("config file " + file + " must hold a YAML map");
      }
      flatten("", root, values);
    }
    return values;
  }

  /** {@code a: {b: 1}} → {@code a.b=1}; a list of scalars → one ';'-separated value. */
  public static void flatten(String prefix, JsonNode node, Map<String, String> into) {
    if (node.isObject()) {
      node.fields()
          .forEachRemaining(
              field ->
                  flatten(
                      prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey(),
                      field.getValue(),
                      into));
    } else if (node.isArray()) {
      List<String> items = new ArrayList<>();
      node.forEach(item -> items.add(item.asText()));
      into.put(prefix, String.join(";", items));
    } else if (!node.isNull()) {
      into.put(prefix, node.asText());
    }
  }

  private static Map<String, String> readProperties(Path file) {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      properties.load(reader);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read config file " + file, e);
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (String key : properties.stringPropertyNames()) {
      values.put(key, properties.getProperty(key).trim());
    }
    return values;
  }

  /** Markdown table of the options: key, environment variable, default, description. */
  public static String describe(List<ConfigOption<?>> options) {
    StringBuilder table =
        new StringBuilder("| key | env | default | meaning |\n|---|---|---|---|\n");
    for (ConfigOption<?> option : options) {
      table
          .append("| `")
          .append(option.key())
          .append("` | `")
          .append(envName(option.key()))
          .append("` | ")
          .append(option.hasDefaultValue() ? "`" + display(option.defaultValue()) + "`" : "")
          .append(" | ")
          .append(new HtmlFormatter().format(option.description()).replace("|", "\\|"))
          .append(" |\n");
    }
    return table.toString();
  }

  private static String display(Object value) {
    return value instanceof java.time.Duration duration
        ? TimeUtils.formatWithHighestUnit(duration)
        : String.valueOf(value);
  }
}
