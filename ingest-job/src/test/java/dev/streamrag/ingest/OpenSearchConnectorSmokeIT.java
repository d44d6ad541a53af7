package dev.streamrag.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.testsupport.junit.OpenSearchExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.apache.flink.connector.opensearch.sink.Opensearch2SinkBuilder;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.http.HttpHost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.opensearch.action.delete.DeleteRequest;
import org.opensearch.action.index.IndexRequest;

/**
 * Does Flink's OpenSearch connector (built for Flink 1.19) work on our Flink 1.20 against the
 * OpenSearch 2.19 the fixtures start? Index three documents and delete one through a MiniCluster
 * job, then count them over HTTP.
 */
@Timeout(180)
class OpenSearchConnectorSmokeIT {
  @RegisterExtension static final OpenSearchExtension OPENSEARCH = new OpenSearchExtension();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(1)
              .build());

  @Test
  void indexesAndDeletesThroughTheConnectorOnFlink120() throws Exception {
    String index = "smoke-" + System.nanoTime();
    URI uri = OPENSEARCH.uri();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    env.fromData(List.of("a", "b", "c", "-b"))
        .sinkTo(
            new Opensearch2SinkBuilder<String>()
                .setHosts(new HttpHost(uri.getHost(), uri.getPort(), uri.getScheme()))
                .setBulkFlushMaxActions(1) // in order: "-b" deletes what "b" indexed
                .setEmitter(
                    (element, context, indexer) -> {
                      if (element.startsWith("-")) {
                        indexer.add(new DeleteRequest(index, element.substring(1)));
                      } else {
                        indexer.add(
                            new IndexRequest(index).id(element).source(Map.of("text", element)));
                      }
                    })
                .build());
    env.execute("opensearch-connector-smoke");

    HttpClient http = HttpClient.newHttpClient();
    http.send(
        HttpRequest.newBuilder(uri.resolve("/" + index + "/_refresh"))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.discarding());
    String count =
        http.send(
                HttpRequest.newBuilder(uri.resolve("/" + index + "/_count")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(count).contains("\"count\":2");
  }
}
