package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The classpath of a program run as a child JVM (llm-sim, the gateway): the jar holding its main
 * class, plus the runtime classpath its build recorded as a resource. The using module depends on
 * the program's artifact with every transitive dependency excluded, so that its classes and the
 * recording are visible here but its libraries (Netty 4.2, say) never meet this JVM's.
 */
final class ChildClasspath {
  private ChildClasspath() {}

  /**
   * @param resource the recorded classpath, e.g. {@code streamrag/gateway.classpath}
   * @param mainClass the program's main class
   * @param artifact the artifact to depend on, for the error message
   */
  static String of(String resource, String mainClass, String artifact) {
    ClassLoader loader = ChildClasspath.class.getClassLoader();
    String dependencies;
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new ServerStartException(
            resource + " is not on the classpath: depend on " + artifact + " (excluding *:*).");
      }
      dependencies = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Class<?> main = Class.forName(mainClass, false, loader);
      Path own = Path.of(main.getProtectionDomain().getCodeSource().getLocation().toURI());
      return own + ":" + dependencies;
    } catch (ClassNotFoundException | URISyntaxException e) {
      throw new ServerStartException(
          "cannot locate " + mainClass + " (" + e + "): depend on " + artifact, e);
    }
  }
}
