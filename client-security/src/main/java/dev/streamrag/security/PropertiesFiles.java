package dev.streamrag.security;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/** Java properties files as the module reads them: every value stripped of surrounding blanks. */
final class PropertiesFiles {
  private PropertiesFiles() {}

  /**
   * @throws IOException naming the file only; callers add what the file was for, never its content
   */
  static Map<String, String> read(Path file) throws IOException {
    Properties loaded = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      loaded.load(reader);
    }
    Map<String, String> values = new TreeMap<>();
    for (String key : loaded.stringPropertyNames()) {
      values.put(key, loaded.getProperty(key).strip());
    }
    return values;
  }
}
