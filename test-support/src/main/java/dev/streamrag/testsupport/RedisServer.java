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

  private RedisServer(String host, int port, ServerProcess process) {
    super("Redis", process);
    this.host = host;
    this.port = port;
  }

  public static RedisServer externalOrStart(Path dir) {
    return ServerSettings.get(URL_SETTING)
        .map(
            url -> {
              URI uri = URI.create(url);
              return new RedisServer(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort(), null);
            })
        .orElseGet(() -> start(dir));
  }

  public static RedisServer start(Path baseDir) {
    // The server runs in its own directory: a relative binary path would not resolve there.
    baseDir = baseDir.toAbsolutePath();
    int port = Ports.freePort();
    // Absolute: the server runs in its own folder, where a relative path would point elsewhere.
    Path dir = baseDir.toAbsolutePath().resolve("redis-" + port);
    try {
      Files.createDirectories(dir);
      String binary = binary(baseDir);
      ServerProcess process =
          ServerProcess.start(
              "redis-server on 127.0.0.1:" + port,
              List.of(
                  binary,
                  "--port",
                  String.valueOf(port),
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
                  dir.toString()),
              dir,
              dir.resolve("redis.log"),
              Map.of(),
              Duration.ofSeconds(10));
      process.awaitReady(START_TIMEOUT, () -> answersPing(port));
      return new RedisServer("127.0.0.1", port, process);
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

  /** {@code redis://host:port}, as Lettuce takes it. */
  public String uri() {
    return "redis://" + host + ":" + port;
  }

  @Override
  protected String address() {
    return uri();
  }
}
