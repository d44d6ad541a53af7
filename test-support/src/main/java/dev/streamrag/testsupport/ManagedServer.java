package dev.streamrag.testsupport;

/**
 * A server a fixture either started itself (and then stops on {@link #close()}) or was pointed at
 * by configuration (and leaves alone).
 */
public abstract class ManagedServer implements AutoCloseable {
  private final String name;
  private ServerProcess process;

  protected ManagedServer(String name, ServerProcess process) {
    this.name = name;
    this.process = process;
  }

  /** True when this fixture started the server (and will stop it). */
  public final boolean isEmbedded() {
    return process != null;
  }

  /** The process this fixture started, or null for an external server. */
  protected final ServerProcess process() {
    return process;
  }

  /** After a restart: the process that now serves (and is stopped on {@link #close()}). */
  protected final void replaceProcess(ServerProcess replacement) {
    this.process = replacement;
  }

  /** Where clients connect, for messages. */
  protected abstract String address();

  /** Stops the server if this fixture started it. */
  @Override
  public void close() {
    if (process != null) {
      process.close();
    }
  }

  @Override
  public final String toString() {
    return name
        + " at "
        + address()
        + (isEmbedded() ? " (PID " + process.pid() + ")" : " (external)");
  }
}
