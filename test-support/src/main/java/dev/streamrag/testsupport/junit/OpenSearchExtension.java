package dev.streamrag.testsupport.junit;

import dev.streamrag.testsupport.OpenSearchServer;
import java.net.URI;

/**
 * A real OpenSearch node with k-NN shared by the test run (or the one {@code
 * STREAMRAG_OPENSEARCH_URL} names).
 */
public final class OpenSearchExtension extends SharedServerExtension<OpenSearchServer> {
  public OpenSearchExtension() {
    super(OpenSearchServer.class, OpenSearchServer::externalOrStart);
  }

  public URI uri() {
    return server().uri();
  }
}
