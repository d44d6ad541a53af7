package dev.streamrag.gateway.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads API keys from a text file ({@code --api-keys-file FILE}) or from a {@code
 * key=tenant,key=tenant} list (the environment variable {@code STREAMRAG_GATEWAY_API_KEYS}). Never
 * from the command line, where {@code ps} shows them to every user of the host. A file holds one
 * {@code <key> <tenant>} pair per line, separated by whitespace; blank lines and lines starting
 * with {@code #} are skipped. Problems are returned, never thrown, and never quote a key: they name
 * the line or position instead.
 */
public final class ApiKeysFile {
  private static final Set<PosixFilePermission> SHARED =
      Set.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE);

  /**
   * What a file or list held.
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
      return new Parsed(
          List.of(),
          List.of("cannot read API keys file " + file + ": " + e.getClass().getSimpleName()));
    }
  }

  /**
   * Why {@code file} is too widely readable for a secret (its group or others may read or write
   * it), or null if it is not, cannot be told (not a POSIX file system) or does not exist.
   */
  public static String exposure(Path file) {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException | IOException e) {
      return null;
    }
    if (permissions.stream().noneMatch(SHARED::contains)) {
      return null;
    }
    return "API keys file "
        + file
        + " is accessible to its group or others ("
        + PosixFilePermissions.toString(permissions)
        + "): chmod 600 it";
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

  /** Parses {@code key=tenant,key=tenant} from a source called {@code name} (for messages). */
  public static Parsed parseList(String list, String name) {
    List<ApiKeyEntry> entries = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    String[] pairs = list.split(",", -1);
    for (int i = 0; i < pairs.length; i++) {
      String pair = pairs[i].strip();
      String origin = name + " entry #" + (i + 1);
      if (pair.isEmpty()) {
        continue;
      }
      int equals = pair.lastIndexOf('=');
      if (equals <= 0 || equals == pair.length() - 1) {
        errors.add(origin + ": expected key=tenant");
        continue;
      }
      String key = pair.substring(0, equals).strip();
      String tenant = pair.substring(equals + 1).strip();
      if (key.isEmpty()
          || tenant.isEmpty()
          || key.matches(".*\\s.*")
          || tenant.matches(".*\\s.*")) {
        errors.add(origin + ": expected key=tenant without spaces");
        continue;
      }
      entries.add(new ApiKeyEntry(key, tenant, origin));
    }
    return new Parsed(entries, errors);
  }
}
