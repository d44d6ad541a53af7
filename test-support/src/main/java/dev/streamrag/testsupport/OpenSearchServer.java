package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A real single-node OpenSearch with the k-NN plugin, installed from the distribution and plugin
 * zips on the package registry and run as a child process; or an external cluster named by {@code
 * STREAMRAG_OPENSEARCH_URL}.
 *
 * <p>Three facts about the registry artifacts shape this class: the minimal distribution lacks
 * lang-painless, which the k-NN descriptor declares as extended plugin (the declaration is removed;
 * k-NN search works, k-NN painless scripts do not); the plugin zip has no native faiss/nmslib
 * libraries, so indexes must use the {@code lucene} engine; and OpenSearch refuses to run as root,
 * so as root it runs as {@code nobody} from a world-readable folder under the system temp directory
 * (a checkout under a 0700 folder would be unreachable for that user).
 */
public final class OpenSearchServer extends ManagedServer {
  public static final String URL_SETTING = "streamrag.opensearch.url";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final URI uri;
  private final Path instanceDir;

  private OpenSearchServer(URI uri, ServerProcess process, Path instanceDir) {
    super("OpenSearch", process);
    this.uri = uri;
    this.instanceDir = instanceDir;
  }

  public static OpenSearchServer externalOrStart(Path logDir) {
    return ServerSettings.get(URL_SETTING)
        .map(url -> new OpenSearchServer(URI.create(url), null, null))
        .orElseGet(() -> start(logDir, "1g"));
  }

  /** Installs (once per version) and starts a node; its console log goes to {@code logDir}. */
  public static OpenSearchServer start(Path logDir, String heap) {
    ServerDists dists = ServerDists.load();
    boolean root = isRoot();
    Path base =
        root
            ? Path.of(System.getProperty("java.io.tmpdir"), "streamrag-opensearch")
            : logDir.resolve("opensearch");
    int[] ports = Ports.freePorts(2);
    int httpPort = ports[0];
    int transportPort = ports[1];
    Path instance = base.resolve("node-" + httpPort);
    try {
      Files.createDirectories(base);
      Path home = install(dists, base);
      Path config = instance.resolve("config");
      Files.createDirectories(config);
      try (Stream<Path> files = Files.list(home.resolve("config"))) {
        for (Path file : (Iterable<Path>) files::iterator) {
          if (Files.isRegularFile(file)) {
            Files.copy(
                file, config.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
      Files.writeString(
          config.resolve("opensearch.yml"),
          String.join(
              "\n",
              "cluster.name: streamrag-test",
              "node.name: node-1",
              "network.host: 127.0.0.1",
              "http.port: " + httpPort,
              "transport.port: " + transportPort,
              "discovery.type: single-node",
              "path.data: " + instance.resolve("data"),
              "path.logs: " + instance.resolve("logs"),
              // A nearly full shared disk must not turn every index read-only in tests.
              "cluster.routing.allocation.disk.threshold_enabled: false",
              ""));
      List<String> command = new ArrayList<>();
      if (root) {
        chownToNobody(base);
        command.addAll(
            List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"));
      }
      command.add(home.resolve("bin").resolve("opensearch").toString());
      ServerProcess process =
          ServerProcess.start(
              "OpenSearch " + dists.openSearchVersion() + " on 127.0.0.1:" + httpPort,
              command,
              instance,
              logDir.resolve("opensearch-" + httpPort + ".log"),
              Map.of(
                  "OPENSEARCH_JAVA_HOME", System.getProperty("java.home"),
                  "OPENSEARCH_PATH_CONF", config.toString(),
                  "OPENSEARCH_JAVA_OPTS", "-Xms" + heap + " -Xmx" + heap),
              Duration.ofSeconds(30));
      URI uri = URI.create("http://127.0.0.1:" + httpPort);
      process.awaitReady(START_TIMEOUT, () -> clusterIsUsable(uri));
      return new OpenSearchServer(uri, process, instance);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare OpenSearch in " + base, e);
    }
  }

  private static boolean clusterIsUsable(URI uri) throws IOException, InterruptedException {
    HttpResponse<String> health =
        HTTP.send(
            HttpRequest.newBuilder(
                    uri.resolve("/_cluster/health?wait_for_status=yellow&timeout=1s"))
                .timeout(Duration.ofSeconds(3))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return health.statusCode() == 200 && !health.body().contains("\"status\":\"red\"");
  }

  /** Unpacks distribution and k-NN plugin once per version; later starts reuse them. */
  private static synchronized Path install(ServerDists dists, Path base) throws IOException {
    Path home = base.resolve("opensearch-" + dists.openSearchVersion() + "-knn");
    Path marker = home.resolve(".installed");
    if (Files.exists(marker)) {
      return home;
    }
    deleteRecursively(home);
    unzip(dists.openSearchZip(), home, true);
    try (Stream<Path> scripts = Files.list(home.resolve("bin"))) {
      for (Path script : (Iterable<Path>) scripts::iterator) {
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
    Path plugin = home.resolve("plugins").resolve("opensearch-knn");
    unzip(dists.knnPluginZip(), plugin, false);
    Path descriptor = plugin.resolve("plugin-descriptor.properties");
    String patched =
        Files.readString(descriptor).replaceAll("(?m)^extended\\.plugins=.*$", "extended.plugins=");
    Files.writeString(descriptor, patched);
    Files.writeString(marker, "installed from " + dists.openSearchZip() + "\n");
    return home;
  }

  private static void unzip(Path zip, Path target, boolean stripTopFolder) throws IOException {
    Files.createDirectories(target);
    try (InputStream in = Files.newInputStream(zip);
        ZipInputStream entries = new ZipInputStream(in)) {
      for (ZipEntry entry = entries.getNextEntry(); entry != null; entry = entries.getNextEntry()) {
        String name = entry.getName();
        if (stripTopFolder) {
          int slash = name.indexOf('/');
          name = slash < 0 ? "" : name.substring(slash + 1);
        }
        if (name.isEmpty()) {
          continue;
        }
        Path out = target.resolve(name).normalize();
        if (!out.startsWith(target)) {
          throw new IOException("zip entry escapes its folder: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Files.createDirectories(out);
        } else {
          Files.createDirectories(out.getParent());
          Files.copy(entries, out, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static void chownToNobody(Path dir) throws IOException {
    // The folder above must be traversable too, or nobody cannot reach its own files.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Process chown = new ProcessBuilder("chown", "-R", "nobody:nogroup", dir.toString()).start();
    try {
      if (chown.waitFor() != 0) {
        throw new ServerStartException(
            "chown -R nobody:nogroup "
                + dir
                + " failed: "
                + new String(chown.getErrorStream().readAllBytes()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServerStartException("interrupted during chown", e);
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(path);
      }
    }
  }

  /** The REST endpoint, e.g. {@code http://127.0.0.1:9200}. */
  public URI uri() {
    return uri;
  }

  /** Stops the node and removes its data; the installation stays for the next start. */
  @Override
  public void close() {
    super.close();
    if (!isEmbedded()) {
      return;
    }
    try {
      deleteRecursively(instanceDir);
    } catch (IOException e) {
      // Data of a stopped test node; a leftover costs disk, not correctness.
    }
  }

  @Override
  protected String address() {
    return uri.toString();
  }
}
