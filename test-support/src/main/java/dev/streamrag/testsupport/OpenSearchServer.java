package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real single-node OpenSearch with the k-NN plugin (and, from {@link #startSecure}, the security
 * plugin: https, logins and index permissions), installed from the distribution and plugin zips on
 * the package registry and run as a child process; or an external cluster named by {@code
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

  /** The secured node's super user (the security plugin's all_access role). */
  public static final String ADMIN = "admin";

  /** A secured node's user whose role reaches only indexes named {@link #LIMITED_INDEXES}. */
  public static final String LIMITED = "limited";

  /** The index pattern {@link #LIMITED} may use (every index action), and nothing else. */
  public static final String LIMITED_INDEXES = "limited-*";

  /**
   * A secured node's trust and users: its certificate (self-signed, so also the CA a client trusts,
   * PEM) and each user's password.
   */
  public record Secured(TestTls tls, Map<String, String> passwords) {
    public Secured {
      passwords = Map.copyOf(passwords);
    }

    /** The PEM certificate a client trusts for https (opensearch.ca-file). */
    public Path caCertificate() {
      return tls.certificate();
    }

    public String password(String user) {
      String password = passwords.get(user);
      if (password == null) {
        throw new IllegalArgumentException("no user " + user + " on the secured node");
      }
      return password;
    }

    /** An {@code Authorization} header value for {@code user}. */
    public String basicAuthorization(String user) {
      return "Basic "
          + Base64.getEncoder()
              .encodeToString((user + ":" + password(user)).getBytes(StandardCharsets.UTF_8));
    }

    /** Trusts this node's certificate only. */
    public SSLContext sslContext() {
      try {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caCertificate())) {
          trust.setCertificateEntry(
              "opensearch", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trustManagers =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustManagers.getTrustManagers(), null);
        return context;
      } catch (IOException | GeneralSecurityException e) {
        throw new ServerStartException("cannot trust " + caCertificate(), e);
      }
    }

    /** A JDK HTTP client that trusts this node (log in with {@link #basicAuthorization}). */
    public HttpClient httpClient() {
      return HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(2))
          .sslContext(sslContext())
          .build();
    }

    @Override
    public String toString() {
      return "Secured[" + caCertificate() + ", users " + passwords.keySet() + "]";
    }
  }

  private final URI uri;
  private final Path instanceDir;
  private final Secured secured;

  private OpenSearchServer(URI uri, ServerProcess process, Path instanceDir, Secured secured) {
    super("OpenSearch", process);
    this.uri = uri;
    this.instanceDir = instanceDir;
    this.secured = secured;
  }

  public static OpenSearchServer externalOrStart(Path logDir) {
    return ServerSettings.get(URL_SETTING)
        .map(url -> new OpenSearchServer(URI.create(url), null, null, null))
        .orElseGet(() -> start(logDir, "1g"));
  }

  /** Installs (once per version) and starts a node; its console log goes to {@code logDir}. */
  public static OpenSearchServer start(Path logDir, String heap) {
    return start(logDir, heap, false);
  }

  /**
   * A node with the security plugin (https only, logins required; 512 MB heap): see {@link
   * Secured}.
   */
  public static OpenSearchServer startSecure(Path logDir) {
    return start(logDir, "512m", true);
  }

  private static OpenSearchServer start(Path logDir, String heap, boolean secure) {
    ServerDists dists = ServerDists.load();
    boolean root = isRoot();
    Path base =
        root
            ? Path.of(System.getProperty("java.io.tmpdir"), "streamrag-opensearch")
            : logDir.toAbsolutePath().resolve("opensearch");
    int[] ports = Ports.freePorts(2);
    int httpPort = ports[0];
    int transportPort = ports[1];
    Path instance = base.resolve("node-" + httpPort);
    try {
      Files.createDirectories(base);
      Path home = install(dists, base, secure);
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
      List<String> settings =
          new ArrayList<>(
              List.of(
                  "cluster.name: streamrag-test",
                  "node.name: node-1",
                  "network.host: 127.0.0.1",
                  "http.port: " + httpPort,
                  "transport.port: " + transportPort,
                  "discovery.type: single-node",
                  "path.data: " + instance.resolve("data"),
                  "path.logs: " + instance.resolve("logs"),
                  // A nearly full shared disk must not turn every index read-only in tests.
                  "cluster.routing.allocation.disk.threshold_enabled: false"));
      Secured secured = null;
      if (secure) {
        secured = OpenSearchSecurityConfig.write(home, config);
        settings.addAll(OpenSearchSecurityConfig.settings());
      }
      settings.add("");
      Files.writeString(config.resolve("opensearch.yml"), String.join("\n", settings));
      List<String> command = new ArrayList<>();
      if (root) {
        chownToNobody(base);
        command.addAll(
            List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"));
      }
      command.add(home.resolve("bin").resolve("opensearch").toString());
      String scheme = secure ? "https" : "http";
      ServerProcess process =
          ServerProcess.start(
              "OpenSearch "
                  + dists.openSearchVersion()
                  + (secure ? " (security plugin)" : "")
                  + " on 127.0.0.1:"
                  + httpPort,
              command,
              instance,
              logDir.resolve("opensearch-" + httpPort + ".log"),
              Map.of(
                  "OPENSEARCH_JAVA_HOME", System.getProperty("java.home"),
                  "OPENSEARCH_PATH_CONF", config.toString(),
                  "OPENSEARCH_JAVA_OPTS", "-Xms" + heap + " -Xmx" + heap),
              Duration.ofSeconds(30));
      URI uri = URI.create(scheme + "://127.0.0.1:" + httpPort);
      HttpClient http = secured == null ? HTTP : secured.httpClient();
      String login = secured == null ? null : secured.basicAuthorization(ADMIN);
      process.awaitReady(START_TIMEOUT, () -> clusterIsUsable(http, uri, login));
      return new OpenSearchServer(uri, process, instance, secured);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare OpenSearch in " + base, e);
    }
  }

  private static boolean clusterIsUsable(HttpClient http, URI uri, String login)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri.resolve("/_cluster/health?wait_for_status=yellow&timeout=1s"))
            .timeout(Duration.ofSeconds(3));
    if (login != null) {
      request.header("Authorization", login);
    }
    // A secured node answers 503 until its security index is initialized.
    HttpResponse<String> health = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return health.statusCode() == 200 && !health.body().contains("\"status\":\"red\"");
  }

  /**
   * Unpacks distribution and k-NN plugin (and for a secured node the security plugin, into a home
   * of its own) once per version; later starts reuse them.
   */
  private static synchronized Path install(ServerDists dists, Path base, boolean secure)
      throws IOException {
    Path home =
        base.resolve(
            "opensearch-" + dists.openSearchVersion() + "-knn" + (secure ? "-security" : ""));
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
    if (secure) {
      unzip(
          dists.securityPluginZip(), home.resolve("plugins").resolve("opensearch-security"), false);
    }
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

  /** The REST endpoint, e.g. {@code http://127.0.0.1:9200} ({@code https} when secured). */
  public URI uri() {
    return uri;
  }

  /** A node from {@link #startSecure}: its CA and users; null for a plain node. */
  public Secured secured() {
    return secured;
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
