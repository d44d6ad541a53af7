package dev.streamrag.testsupport;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The security plugin's files for one secured test node, written into its config folder before it
 * starts: a certificate for 127.0.0.1 made for the run ({@link TestTls}) that serves https and the
 * transport layer and is the node's own DN ({@code plugins.security.nodes_dn}); and the security
 * configuration the plugin loads into its index at first start ({@code
 * allow_default_init_securityindex}), so no admin certificate and no securityadmin run are needed.
 * Users: {@link OpenSearchServer#ADMIN} (all_access) and {@link OpenSearchServer#LIMITED} (every
 * index action on {@link OpenSearchServer#LIMITED_INDEXES} only, plus the k-NN warmup), with random
 * passwords hashed with bcrypt by the plugin's own BouncyCastle.
 */
final class OpenSearchSecurityConfig {
  private static final String NODE_DN = "CN=127.0.0.1";
  private static final String TLS_DIR = "tls";

  private OpenSearchSecurityConfig() {}

  /** Writes TLS files and the security configuration under {@code config}; returns the users. */
  static OpenSearchServer.Secured write(Path home, Path config) throws IOException {
    TestTls tls = TestTls.create(config.resolve(TLS_DIR));
    Map<String, String> passwords = new LinkedHashMap<>();
    passwords.put(OpenSearchServer.ADMIN, TestTls.randomSecret());
    passwords.put(OpenSearchServer.LIMITED, TestTls.randomSecret());

    Path plugin = home.resolve("plugins").resolve("opensearch-security");
    Path security = config.resolve("opensearch-security");
    Files.createDirectories(security);
    // The plugin's defaults (config.yml: basic auth against the internal users; action groups,
    // tenants, audit...), then our users, roles and mappings over them.
    try (Stream<Path> files = Files.list(plugin.resolve("config"))) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (file.getFileName().toString().endsWith(".yml")) {
          Files.copy(
              file, security.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    BcryptHasher hasher = new BcryptHasher(plugin);
    Files.writeString(
        security.resolve("internal_users.yml"),
        String.join(
            "\n",
            "_meta:",
            "  type: internalusers",
            "  config_version: 2",
            OpenSearchServer.ADMIN + ":",
            "  hash: \"" + hasher.hash(passwords.get(OpenSearchServer.ADMIN)) + "\"",
            "  reserved: true",
            OpenSearchServer.LIMITED + ":",
            "  hash: \"" + hasher.hash(passwords.get(OpenSearchServer.LIMITED)) + "\"",
            ""));
    Files.writeString(
        security.resolve("roles.yml"),
        String.join(
            "\n",
            "",
            "streamrag_limited:",
            "  cluster_permissions:",
            "    - cluster_composite_ops",
            "    - cluster_monitor",
            // The k-NN warmup API is a cluster action (as the deployment's inference role has).
            "    - cluster:admin/knn_warmup_action",
            "  index_permissions:",
            "    - index_patterns:",
            "        - \"" + OpenSearchServer.LIMITED_INDEXES + "\"",
            "      allowed_actions:",
            "        - indices_all",
            ""),
        StandardOpenOption.APPEND);
    Files.writeString(
        security.resolve("roles_mapping.yml"),
        String.join(
            "\n",
            "_meta:",
            "  type: rolesmapping",
            "  config_version: 2",
            "all_access:",
            "  users:",
            "    - " + OpenSearchServer.ADMIN,
            "streamrag_limited:",
            "  users:",
            "    - " + OpenSearchServer.LIMITED,
            ""));
    // The plugin warns about anything others may read; only the node's user needs these.
    restrict(security);
    restrict(tls.certificate().getParent());
    return new OpenSearchServer.Secured(tls, passwords);
  }

  private static void restrict(Path dir) throws IOException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      }
    }
  }

  /** The opensearch.yml lines that turn TLS and the security plugin on. */
  static List<String> settings() {
    String cert = TLS_DIR + "/server.crt";
    String key = TLS_DIR + "/server.key";
    return List.of(
        // Self-signed: the certificate is its own CA, for the transport layer and for clients.
        "plugins.security.ssl.transport.pemcert_filepath: " + cert,
        "plugins.security.ssl.transport.pemkey_filepath: " + key,
        "plugins.security.ssl.transport.pemtrustedcas_filepath: " + cert,
        "plugins.security.ssl.transport.enforce_hostname_verification: false",
        "plugins.security.ssl.http.enabled: true",
        "plugins.security.ssl.http.pemcert_filepath: " + cert,
        "plugins.security.ssl.http.pemkey_filepath: " + key,
        "plugins.security.ssl.http.pemtrustedcas_filepath: " + cert,
        "plugins.security.nodes_dn: [\"" + NODE_DN + "\"]",
        "plugins.security.allow_default_init_securityindex: true",
        "plugins.security.audit.type: noop",
        "plugins.security.restapi.roles_enabled: [\"all_access\"]");
  }

  /** bcrypt through the BouncyCastle jar the plugin ships (what its own hash tool uses). */
  private static final class BcryptHasher {
    private final Method generate;

    BcryptHasher(Path plugin) throws IOException {
      Path jar;
      try (Stream<Path> files = Files.list(plugin)) {
        jar =
            files
                .filter(f -> f.getFileName().toString().startsWith("bcprov-"))
                .findFirst()
                .orElseThrow(() -> new ServerStartException("no bcprov jar in " + plugin));
      }
      try {
        // Not closed: the loader lives as long as the hasher, a few calls.
        @SuppressWarnings("resource")
        URLClassLoader loader =
            new URLClassLoader(
                new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        generate =
            loader
                .loadClass("org.bouncycastle.crypto.generators.OpenBSDBCrypt")
                .getMethod("generate", String.class, char[].class, byte[].class, int.class);
      } catch (ReflectiveOperationException e) {
        throw new ServerStartException("cannot load bcrypt from " + jar, e);
      }
    }

    String hash(String password) {
      byte[] salt = new byte[16];
      new SecureRandom().nextBytes(salt);
      try {
        return (String) generate.invoke(null, "2y", password.toCharArray(), salt, 12);
      } catch (ReflectiveOperationException e) {
        throw new ServerStartException("bcrypt failed", e);
      }
    }
  }
}
