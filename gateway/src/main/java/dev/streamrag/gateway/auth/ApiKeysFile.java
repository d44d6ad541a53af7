package dev.streamrag.gateway.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads API keys from a text file ({@code --api-keys FILE}) or from {@code --api-key KEY=TENANT}
 * options. A file holds one {@code <key> <tenant>} pair per line, separated by whitespace; blank
 * lines and lines starting with {@code #} are skipped. Problems are returned, never thrown, and
 * never quote a key: they name the line instead.
 */
public final class ApiKeysFile {
  /**
   * What a file or option list held.
   *
   * @param errors one message per line that could not be read; empty when all were fine
   */
  public record Parsed(List<ApiKeyEntry> entries, List<String> errors) {
    public Parsed {
      entries = List.copyOf(entries);
      errors = List.copyOf(errors);
    }

    public boolean isOk() {
      return errors.isEmpty();
    }
  }

  private ApiKeysFile() {}

  /** Reads {@code file}; an unreadable file is one error. */
  public static Parsed read(Path file) {
    try {
      return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      return new Parsed(List.of(), List.of("cannot read API keys file " + file + ": " + e));
    }
  }

  /** Parses the lines of a keys file called {@code name} (for messages). */
  public static Parsed parse(List<String> lines, String name) {
    List<ApiKeyEntry> entries = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String origin = name + " line " + (i + 1);
      String[] fields = line.split("\\s+");
      if (fields.length != 2) {
        errors.add(
            origin
                + ": expected '<key> <tenant>' (two fields), found "
                + fields.length
                + " fields");
        continue;
      }
      entries.add(new ApiKeyEntry(fields[0], fields[1], origin));
    }
    return new Parsed(entries, errors);
  }

  /** Parses {@code --api-key KEY=TENANT} values. */
  public static Parsed parseOptions(List<String> options) {
    List<ApiKeyEntry> entries = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < options.size(); i++) {
      String option = options.get(i).strip();
      String origin = "--api-key #" + (i + 1);
      int equals = option.lastIndexOf('=');
      if (equals <= 0 || equals == option.length() - 1) {
        errors.add(origin + ": expected KEY=TENANT");
        continue;
      }
      String key = option.substring(0, equals).strip();
      String tenant = option.substring(equals + 1).strip();
      if (key.isEmpty()
          || tenant.isEmpty()
          || key.matches(".*\\s.*")
          || tenant.matches(".*\\s.*")) {
        errors.add(origin + ": expected KEY=TENANT without spaces");
        continue;
      }
      entries.add(new ApiKeyEntry(key, tenant, origin));
    }
    return new Parsed(entries, errors);
  }
}
