package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

/**
 * A real redis-server as a child process; or an external one named by {@code STREAMRAG_REDIS_URL}.
 * The binary is, in order: {@code STREAMRAG_REDIS_SERVER} (a path), the one shipped for this
 * platform in the {@code embedded-redis} jar on the package registry, {@code redis-server} on the
 * PATH. Persistence is off: a test cache has nothing to keep.
 */
public final class RedisServer extends ManagedServer {
  public static final String URL_SETTING = "streamrag.redis.url";
  public static final String BINARY_SETTING = "streamrag.redis.server";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final String host;
  private final int port;
  private final Secured secured;

  /**
   * A secured server's TLS files and its one ACL user (the default user is off).
   *
   * @param tls the server's certificate, which clients trust
   */
  public record Secured(TestTls tls, String user, String password) {}

  private RedisServer(String host, int port, ServerProcess process, Secured secured) {
    super("Redis", process);
    this.host = host;
    this.port = port;
    this.secured = secured;
  }

  public static RedisServer externalOrStart(Path dir) {
    return ServerSettings.get(URL_SETTING)
        .map(
            url -> {
              URI uri = URI.create(url);
              return new RedisServer(
                  uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort(), null, null);
            })
        .orElseGet(() -> start(dir));
  }

  public static RedisServer start(Path baseDir) {
    return start(baseDir, false, null);
  }

  /**
   * A server that speaks TLS only (a certificate made for this run) and admits only the ACL user
   * {@code user}, with a random password: the default user is off, so a client that does not log in
   * can run no command.
   */
  public static RedisServer startSecure(Path baseDir, String user) {
    return start(baseDir, true, user);
  }

  private static RedisServer start(Path baseDir, boolean secure, String user) {
    // Absolute: the server runs in its own folder, where a relative path would point elsewhere.
    baseDir = baseDir.toAbsolutePath();
    int port = Ports.freePort();
    Path dir = baseDir.resolve("redis-" + port);
    try {
      Files.createDirectories(dir);
      String binary = binary(baseDir);
      List<String> command =
          new ArrayList<>(
              List.of(
                  binary,
                  "--bind",
                  "127.0.0.1",
                  "--save",
                  "",
                  "--appendonly",
                  "no",
                  "--protected-mode",
                  "no",
                  "--daemonize",
                  "no",
                  "--dir",
                  dir.toString()));
      Secured secured = null;
      if (secure) {
        secured = new Secured(TestTls.create(dir.resolve("tls")), user, TestTls.randomSecret());
        // The ACL file, not the command line: a password there would show in the process list.
        Path acl = dir.resolve("users.acl");
        Files.writeString(
            acl,
            "user default off\nuser " + user + " on >" + secured.password() + " ~* &* +@all\n");
        command.addAll(
            List.of(
                "--port", "0",
                "--tls-port", String.valueOf(port),
                "--tls-cert-file", secured.tls().certificate().toString(),
                "--tls-key-file", secured.tls().privateKey().toString(),
                "--tls-ca-cert-file", secured.tls().certificate().toString(),
                "--tls-auth-clients", "no",
                "--aclfile", acl.toString()));
      } else {
        command.addAll(List.of("--port", String.valueOf(port)));
      }
      ServerProcess process =
          ServerProcess.start(
              "redis-server on 127.0.0.1:" + port,
              command,
              dir,
              dir.resolve("redis.log"),
              Map.of(),
              Duration.ofSeconds(10));
      if (secure) {
        process.awaitReady(
            START_TIMEOUT,
            () ->
                Ports.isListening(port)
                    && Files.readString(process.log()).contains("Ready to accept connections"));
      } else {
        process.awaitReady(START_TIMEOUT, () -> answersPing(port));
      }
      return new RedisServer("127.0.0.1", port, process, secured);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare redis-server in " + dir, e);
    }
  }

  private static boolean answersPing(int port) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(1000);
      OutputStream out = socket.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] reply = new byte[7];
      int read = socket.getInputStream().read(reply);
      return read > 0 && new String(reply, 0, read, StandardCharsets.US_ASCII).startsWith("+PONG");
    }
  }

  private static String binary(Path baseDir) throws IOException {
    var configured = ServerSettings.get(BINARY_SETTING);
    if (configured.isPresent()) {
      return configured.get();
    }
    String shipped = shippedBinaryName();
    if (shipped != null) {
      Path target = baseDir.toAbsolutePath().resolve("bin").resolve(shipped);
      if (!Files.isExecutable(target)) {
        Files.createDirectories(target.getParent());
        try (JarFile jar = new JarFile(ServerDists.load().embeddedRedisJar().toFile())) {
          ZipEntry entry = jar.getEntry(shipped);
          if (entry != null) {
            try (InputStream in = jar.getInputStream(entry)) {
              Path partial = Files.createTempFile(target.getParent(), shipped, ".part");
              Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
              Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
              Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            }
          }
        }
      }
      if (Files.isExecutable(target)) {
        return target.toString();
      }
    }
    return "redis-server";
  }

  /** The binary the embedded-redis jar ships for this platform, or null. */
  private static String shippedBinaryName() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    if (os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) {
      return "redis-server-6.2.6-v5-linux-amd64";
    }
    if (os.contains("linux") && arch.equals("aarch64")) {
      return "redis-server-6.2.7-linux-arm64";
    }
    if (os.contains("mac") && arch.equals("aarch64")) {
      return "redis-server-6.2.6-v5-darwin-arm64";
    }
    if (os.contains("mac")) {
      return "redis-server-6.2.6-v5-darwin-amd64";
    }
    return null;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** {@code redis://host:port} ({@code rediss://} if secured), as Lettuce takes it. */
  public String uri() {
    return (secured == null ? "redis://" : "rediss://") + host + ":" + port;
  }

  /** The TLS files and the user of a server started with {@link #startSecure}. */
  public Secured secured() {
    if (secured == null) {
      throw new IllegalStateException(this + " is not secured; start it with startSecure");
    }
    return secured;
  }

  @Override
  protected String address() {
    return uri();
  }
}
