package dev.streamrag.testsupport.junit;

import dev.streamrag.testsupport.ManagedServer;
import dev.streamrag.testsupport.ServerSettings;
import java.nio.file.Path;
import java.util.function.Function;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a server once per test run (per JVM) and shares it with every test class that registers
 * the extension. The server lives in the root context's store, which closes it, and so stops the
 * process, when the run ends. Register as {@code @RegisterExtension static final}.
 */
abstract class SharedServerExtension<S extends ManagedServer> implements BeforeAllCallback {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create("dev.streamrag.testsupport");

  private final Class<S> type;
  private final Function<Path, S> starter;
  private volatile S server;

  SharedServerExtension(Class<S> type, Function<Path, S> starter) {
    this.type = type;
    this.starter = starter;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    server =
        context
            .getRoot()
            .getStore(NAMESPACE)
            .getOrComputeIfAbsent(type.getName(), key -> startTimed(), type);
  }

  private S startTimed() {
    long started = System.nanoTime();
    S running = starter.apply(ServerSettings.serversDir());
    System.out.printf(
        "[streamrag] %s ready after %.1f s%n", running, (System.nanoTime() - started) / 1e9);
    return running;
  }

  /** The running server; only valid from {@code @BeforeAll} on. */
  protected S server() {
    S current = server;
    if (current == null) {
      throw new IllegalStateException(
          getClass().getSimpleName()
              + " has not started: register it as @RegisterExtension static final field");
    }
    return current;
  }
}
