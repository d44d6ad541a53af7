package dev.streamrag.jobs.retrieve;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.security.SecretReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenSearch settings as the jobs read them: a password only as a reference, resolved when a
 * client asks for its login; nothing that is printed or serialized holds it; settings that would
 * leak it or could not work are refused at configuration.
 */
class OpenSearchEndpointTest {
  private static final String SECRET = "s3cr3t-Pa55word";

  @TempDir Path dir;

  private Configuration settings(String password) {
    Configuration config = new Configuration();
    config.setString("opensearch.url", "https://opensearch:9200");
    config.setString("opensearch.username", "streamrag-ingest");
    config.setString("opensearch.password", password);
    config.setString("opensearch.ca-file", "/etc/streamrag/tls/opensearch/ca.crt");
    return config;
  }

  private String reference() throws Exception {
    Files.writeString(dir.resolve("password"), SECRET + "\n");
    return "${dir:" + dir + ":password}";
  }

  @Test
  void aLiteralPasswordIsRefusedNamingTheSettingNotTheValue() {
    assertThatThrownBy(() -> OpenSearchEndpoint.from(settings(SECRET)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("opensearch.password must be a secret reference")
        .message()
        .doesNotContain(SECRET);
  }

  @Test
  void neitherToStringNorJavaSerializationHoldsThePassword() throws Exception {
    OpenSearchEndpoint endpoint = OpenSearchEndpoint.from(settings(reference()));
    assertThat(endpoint.toString())
        .isEqualTo(
            "https://opensearch:9200 as streamrag-ingest password "
                + reference()
                + " trusting /etc/streamrag/tls/opensearch/ca.crt")
        .doesNotContain(SECRET);
    byte[] serialized = InstantiationUtil.serializeObject(endpoint);
    assertThat(new String(serialized, UTF_8)).doesNotContain(SECRET);
    OpenSearchEndpoint copy =
        InstantiationUtil.deserializeObject(serialized, getClass().getClassLoader());
    assertThat(copy).isEqualTo(endpoint);
    // Read only when asked, where the client opens.
    assertThat(copy.basicAuthorization())
        .contains(
            "Basic "
                + Base64.getEncoder()
                    .encodeToString(("streamrag-ingest:" + SECRET).getBytes(UTF_8)));
  }

  @Test
  void defaultsAreAPlainClusterWithoutLogin() {
    OpenSearchEndpoint endpoint = OpenSearchEndpoint.from(new Configuration());
    assertThat(endpoint).isEqualTo(OpenSearchEndpoint.of("http://127.0.0.1:9200"));
    assertThat(endpoint.https()).isFalse();
    assertThat(endpoint.basicAuthorization()).isEmpty();
    assertThat(endpoint.tlsStrategy()).isNull();
    assertThat(endpoint.toString()).isEqualTo("http://127.0.0.1:9200");
  }

  @Test
  void aLoginInTheUrlIsRefusedWithoutEchoingIt() {
    Configuration config = new Configuration();
    config.setString("opensearch.url", "https://admin:" + SECRET + "@opensearch:9200");
    assertThatThrownBy(() -> OpenSearchEndpoint.from(config))
        .hasMessageContaining("must not carry a user or password")
        .hasMessageContaining("opensearch.username")
        .message()
        .doesNotContain(SECRET);
  }

  @Test
  void settingsThatCouldNotWorkOrWouldLeakAreRefused() throws Exception {
    SecretReference password = SecretReference.parse(reference()).orElseThrow();
    assertThatThrownBy(() -> new OpenSearchEndpoint("https://o:9200", "user", null, null))
        .hasMessageContaining("a user without a password");
    assertThatThrownBy(() -> new OpenSearchEndpoint("https://o:9200", null, password, null))
        .hasMessageContaining("a password without a user");
    assertThatThrownBy(() -> new OpenSearchEndpoint("http://o:9200", null, null, "/ca.pem"))
        .hasMessageContaining("opensearch.ca-file is set but opensearch.url is http://");
    assertThatThrownBy(() -> new OpenSearchEndpoint("http://opensearch:9200", "u", password, null))
        .hasMessageContaining("would send opensearch.password in clear text");
    assertThatThrownBy(() -> OpenSearchEndpoint.of("ftp://opensearch:9200"))
        .hasMessageContaining("must be http:// or https://");
    // A proxy on the same host may speak plain http.
    assertThat(new OpenSearchEndpoint("http://127.0.0.1:9200", "u", password, null).username())
        .isEqualTo("u");
  }

  @Test
  void aMissingOrEmptyCaFileIsAClearError() throws Exception {
    OpenSearchEndpoint missing =
        new OpenSearchEndpoint("https://o:9200", null, null, dir.resolve("none.pem").toString());
    assertThatThrownBy(missing::sslContext)
        .hasMessageContaining("cannot use opensearch.ca-file " + dir.resolve("none.pem"));
    Files.writeString(dir.resolve("empty.pem"), "");
    OpenSearchEndpoint empty =
        new OpenSearchEndpoint("https://o:9200", null, null, dir.resolve("empty.pem").toString());
    assertThatThrownBy(empty::sslContext).hasMessageContaining("holds no PEM certificate");
  }

  @Test
  void anUnreadablePasswordNamesTheReference() throws Exception {
    OpenSearchEndpoint endpoint =
        new OpenSearchEndpoint(
            "https://o:9200",
            "u",
            SecretReference.parse("${dir:" + dir + ":absent}").orElseThrow(),
            null);
    assertThatThrownBy(endpoint::basicAuthorization)
        .hasMessageContaining("${dir:" + dir + ":absent}");
  }
}
