package dev.streamrag.jobs.embed;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Puts a model's classpath resource on disk, where ONNX Runtime can map it. Every task on a
 * TaskManager shares one copy: a file is written under a temporary name and moved into place, so
 * tasks opening at the same time never see half a file, and an existing copy of the right size is
 * reused.
 *
 * <p>The directory is {@code STREAMRAG_MODEL_CACHE} (system property {@code
 * streamrag.model.cache}), by default {@code $TMPDIR/streamrag-models}.
 */
final class ModelFiles {
  private ModelFiles() {}

  static Path cacheDir() {
    String configured = System.getProperty("streamrag.model.cache");
    if (configured == null || configured.isBlank()) {
      configured = System.getenv("STREAMRAG_MODEL_CACHE");
    }
    return configured == null || configured.isBlank()
        ? Path.of(System.getProperty("java.io.tmpdir"), "streamrag-models")
        : Path.of(configured);
  }

  /** The resource as a file under {@code cacheDir()/model}, extracted if needed. */
  static Path extract(String model, String resource) {
    URL url = ModelFiles.class.getResource(resource);
    if (url == null) {
      throw new IllegalStateException(
          "model resource "
              + resource
              + " of "
              + model
              + " is not on the classpath; is the model package a dependency of the job?");
    }
    try {
      URLConnection connection = url.openConnection();
      long size = connection.getContentLengthLong();
      Path dir = cacheDir().resolve(model);
      Path target = dir.resolve(Path.of(resource).getFileName().toString());
      if (Files.isRegularFile(target) && (size < 0 || Files.size(target) == size)) {
        return target;
      }
      Files.createDirectories(dir);
      Path partial = Files.createTempFile(dir, target.getFileName().toString(), ".partial");
      try (InputStream in = connection.getInputStream()) {
        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
        Files.move(
            partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(partial);
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot extract " + resource + " of " + model + " to " + cacheDir(), e);
    }
  }
}
