package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate for 127.0.0.1 made for one test run with the JDK's keytool: as a PKCS12
 * keystore (Java servers), and as PEM certificate and key files (redis-server, clients' trust).
 * Nothing is committed to the repository and nothing outlives the run's directory.
 *
 * @param keystore PKCS12 with the key pair under alias "server"
 * @param keystorePassword its password
 * @param certificate the certificate, PEM: what a client trusts
 * @param privateKey the private key, PEM (PKCS#8)
 */
public record TestTls(Path keystore, String keystorePassword, Path certificate, Path privateKey) {

  /** Makes the files under {@code dir}. */
  public static TestTls create(Path dir) {
    try {
      Files.createDirectories(dir);
      Path keystore = dir.resolve("server.p12");
      Path passwordFile = dir.resolve("keystore.password");
      String password = randomSecret();
      Files.writeString(passwordFile, password);
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      run(
          dir,
          List.of(
              keytool,
              "-genkeypair",
              "-alias",
              "server",
              "-keyalg",
              "RSA",
              "-keysize",
              "2048",
              "-validity",
              "7",
              "-dname",
              "CN=127.0.0.1",
              "-ext",
              "SAN=ip:127.0.0.1,dns:localhost",
              "-keystore",
              keystore.toString(),
              "-storetype",
              "PKCS12",
              "-storepass:file",
              passwordFile.toString()));
      KeyStore store = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(keystore)) {
        store.load(in, password.toCharArray());
      }
      Certificate certificate = store.getCertificate("server");
      PrivateKey key = (PrivateKey) store.getKey("server", password.toCharArray());
      Path certificatePem = dir.resolve("server.crt");
      Path keyPem = dir.resolve("server.key");
      Files.writeString(certificatePem, pem("CERTIFICATE", certificate.getEncoded()));
      Files.writeString(keyPem, pem("PRIVATE KEY", key.getEncoded()));
      return new TestTls(keystore, password, certificatePem, keyPem);
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new ServerStartException("cannot make a test certificate in " + dir, e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static void run(Path dir, List<String> command) throws IOException {
    Path log = dir.resolve("keytool.log");
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new ServerStartException("keytool failed: " + Files.readString(log));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServerStartException("interrupted while running keytool", e);
    }
  }

  /** A random password for a test server (URL-safe, 24 characters). */
  public static String randomSecret() {
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
