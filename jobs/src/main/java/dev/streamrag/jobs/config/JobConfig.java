package dev.streamrag.jobs.config;

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
 * A job's settings from, lowest precedence first: the options' defaults, a properties file ({@code
 * --config FILE}), environment variables ({@code STREAMRAG_} + the key upper-cased with dots and
 * dashes as underscores: {@code ingest.chunk-tokens} → {@code STREAMRAG_INGEST_CHUNK_TOKENS}), and
 * flags ({@code --ingest.chunk-tokens 200}). Options are declared with Flink's {@link
 * ConfigOption}s, so types and defaults live in one place; an unknown key in a file or flag fails
 * at start with the list of known keys, and a value of the wrong type fails naming the key.
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
      values.putAll(readProperties(file));
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
      if (!known.containsKey(key)) {
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
