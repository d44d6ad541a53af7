package dev.streamrag.llmsim.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamrag.llmsim.engine.EngineProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Several event loops share one port, and every completion reports a timeline whose points come in
 * order: what the stream-fidelity benchmark relies on.
 */
@Timeout(60)
class CompletionTimelineTest {
  private static final EngineProfile FAST =
      new EngineProfile("fast", 16, 2048, 400, 16, 2048, true, 1000, 2, 20, 0);

  @Test
  void concurrentStreamsOnSeveralEventLoopsReportOrderedTimelines() throws Exception {
    Set<String> threads = ConcurrentHashMap.newKeySet();
    ConcurrentLinkedQueue<CompletionTimeline> timelines = new ConcurrentLinkedQueue<>();
    try (SimServer server = SimServer.start(FAST, "m", 0, 1 << 20, FaultPlan.NONE, 2)) {
      server.observeCompletions(
          timeline -> {
            threads.add(Thread.currentThread().getName());
            timelines.add(timeline);
          });
      // A new client per request forces separate connections, spread over the event loops.
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String body =
            "{\"model\":\"m\",\"stream\":true,\"min_tokens\":10,\"max_tokens\":10,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Question "
                + i
                + "?\"}]}";
        responses.add(
            HttpClient.newHttpClient()
                .sendAsync(
                    HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                    HttpResponse.BodyHandlers.ofString()));
      }
      for (CompletableFuture<HttpResponse<String>> response : responses) {
        assertThat(response.get().statusCode()).isEqualTo(200);
        assertThat(response.get().body()).endsWith("data: [DONE]\n\n");
      }
      while (timelines.size() < 8) {
        Thread.sleep(10); // the last observer call may trail the response's end by a moment
      }
    }
    assertThat(timelines)
        .hasSize(8)
        .allSatisfy(
            t -> {
              assertThat(t.outputTokens()).isEqualTo(10);
              assertThat(t.arrivedNanos()).isLessThanOrEqualTo(t.submittedNanos());
              assertThat(t.submittedNanos()).isLessThanOrEqualTo(t.firstEmittedNanos());
              assertThat(t.firstEmittedNanos()).isLessThanOrEqualTo(t.firstWriteNanos());
              assertThat(t.firstWriteNanos()).isLessThan(t.lastWriteNanos());
            });
    assertThat(threads).allSatisfy(name -> assertThat(name).startsWith("vert.x-eventloop"));
    assertThat(threads).hasSize(2);
  }
}
