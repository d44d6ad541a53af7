package dev.streamrag.testsupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server running as a child process, with its output in a log file. Stopped by PID (never by
 * name): SIGTERM, a grace period, then SIGKILL for it and anything it started. A JVM shutdown hook
 * stops whatever is still running, so an aborted test run leaves no orphans.
 */
public final class ServerProcess implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerProcess.class);
  private static final Set<ServerProcess> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> new ArrayList<>(RUNNING).forEach(ServerProcess::close),
                "stop-child-servers"));
  }

  private final String name;
  private final Process process;
  private final Path log;
  private final Duration stopGrace;

  private ServerProcess(String name, Process process, Path log, Duration stopGrace) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.stopGrace = stopGrace;
  }

  /** A check that returns true once the server answers. It may throw while it does not. */
  @FunctionalInterface
  public interface Readiness {
    boolean ready() throws Exception;
  }

  /** Starts {@code command}; its stdout and stderr go to {@code log}. */
  public static ServerProcess start(
      String name,
      List<String> command,
      Path workDir,
      Path log,
      Map<String, String> environment,
      Duration stopGrace) {
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(workDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().putAll(environment);
      Process process = builder.start();
      ServerProcess server = new ServerProcess(name, process, log, stopGrace);
      RUNNING.add(server);
      LOG.info("Started {} as PID {}, log {}", name, process.pid(), log.toAbsolutePath());
      return server;
    } catch (IOException e) {
      throw new ServerStartException(
          "Cannot start " + name + ": " + e.getMessage() + " (command: " + command.get(0) + ")", e);
    }
  }

  /**
   * Polls {@code readiness} until it holds. Fails fast, with the log tail, if the process exits
   * first or {@code timeout} passes; the process is stopped then.
   */
  public ServerProcess awaitReady(Duration timeout, Readiness readiness) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception lastProblem = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        RUNNING.remove(this);
        throw new ServerStartException(
            name + " exited with code " + process.exitValue() + " before it was ready." + tail());
      }
      try {
        if (readiness.ready()) {
          return this;
        }
      } catch (Exception notYet) {
        lastProblem = notYet;
      }
      sleepQuietly(100);
    }
    close();
    throw new ServerStartException(
        name
            + " was not ready within "
            + timeout.toSeconds()
            + " s"
            + (lastProblem == null ? "" : " (last check: " + lastProblem + ")")
            + "."
            + tail());
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  /** The last lines of the log, for error messages. */
  public String tail() {
    return "\n--- last lines of " + log.toAbsolutePath() + " ---\n" + lastLines(log, 40);
  }

  static String lastLines(Path file, int count) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - count), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /** Stops the process and its descendants by PID. */
  @Override
  public void close() {
    if (!RUNNING.remove(this)) {
      return;
    }
    List<ProcessHandle> descendants = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("{} (PID {}) ignored SIGTERM for {}; killing it", name, pid(), stopGrace);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    LOG.info("Stopped {} (PID {})", name, pid());
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServerStartException("interrupted while waiting for a server", e);
    }
  }
}
