package dev.streamrag.llmsim.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * Named engine profiles. Bundled ones live in {@code profiles/NAME.properties} on the classpath,
 * each citing the public measurements it was calibrated against; users can load their own file with
 * the same keys. Unknown and missing keys fail with the list of valid ones.
 */
public final class EngineProfiles {
  /** The profiles shipped with the simulator. */
  public static final List<String> BUNDLED =
      List.of("qwen2.5-0.5b-l4", "llama-3.1-8b-h100", "llama-3.2-1b-cpu");

  private static final Set<String> KEYS =
      Set.of(
          "name",
          "maxNumSeqs",
          "maxNumBatchedTokens",
          "kvBlocks",
          "blockSize",
          "contextWindow",
          "prefixCaching",
          "stepBaseMicros",
          "prefillMicrosPerToken",
          "decodeMicrosPerSequence",
          "attentionMicrosPerContextToken");

  private EngineProfiles() {}

  /** A bundled profile by name. */
  public static EngineProfile bundled(String name) {
    String resource = "profiles/" + name + ".properties";
    try (InputStream in = EngineProfiles.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException(
            "unknown profile '" + name + "'; bundled profiles: " + BUNDLED);
      }
      return load(new InputStreamReader(in, StandardCharsets.UTF_8), resource);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A profile from a properties file. */
  public static EngineProfile fromFile(Path file) {
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return load(reader, file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read profile " + file, e);
    }
  }

  private static EngineProfile load(Reader reader, String origin) throws IOException {
    Properties properties = new Properties();
    properties.load(reader);
    return fromProperties(properties, origin);
  }

  static EngineProfile fromProperties(Properties properties, String origin) {
    Set<String> unknown = new TreeSet<>(properties.stringPropertyNames());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          origin + ": unknown keys " + unknown + "; valid keys: " + new TreeSet<>(KEYS));
    }
    try {
      return new EngineProfile(
          text(properties, "name", origin),
          integer(properties, "maxNumSeqs", origin),
          integer(properties, "maxNumBatchedTokens", origin),
          integer(properties, "kvBlocks", origin),
          integer(properties, "blockSize", origin),
          integer(properties, "contextWindow", origin),
          bool(properties, "prefixCaching", origin),
          decimal(properties, "stepBaseMicros", origin),
          decimal(properties, "prefillMicrosPerToken", origin),
          decimal(properties, "decodeMicrosPerSequence", origin),
          decimal(properties, "attentionMicrosPerContextToken", origin));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(origin + ": " + e.getMessage(), e);
    }
  }

  private static String text(Properties properties, String key, String origin) {
    String value = properties.getProperty(key);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(origin + ": missing key '" + key + "'");
    }
    return value.trim();
  }

  private static int integer(Properties properties, String key, String origin) {
    String value = text(properties, key, origin);
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, got '" + value + "'");
    }
  }

  private static double decimal(Properties properties, String key, String origin) {
    String value = text(properties, key, origin);
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a number, got '" + value + "'");
    }
  }

  private static boolean bool(Properties properties, String key, String origin) {
    String value = text(properties, key, origin);
    if (!value.equals("true") && !value.equals("false")) {
      throw new IllegalArgumentException(key + " must be true or false, got '" + value + "'");
    }
    return Boolean.parseBoolean(value);
  }
}
