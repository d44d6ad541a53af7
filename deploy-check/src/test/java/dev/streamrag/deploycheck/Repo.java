package dev.streamrag.deploycheck;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's folders, found from the module's working directory. */
final class Repo {
  private Repo() {}

  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("flink-deployments"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(
          "no flink-deployments/ above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  static Path path(String relative) {
    return root().resolve(relative);
  }
}
