package dev.streamrag.llmsim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Behaviour of the real-time driver (its timing fidelity is the benchmark's job, not a test's). */
@Timeout(30)
class RealTimeEngineDriverTest {
  /** A fast profile so the test takes milliseconds: 200 us steps. */
  private static final EngineProfile FAST =
      new EngineProfile("fast", 8, 512, 1000, 16, 2048, true, 200, 1, 10, 0);

  @Test
  void everyRequestGetsAllItsTokensInOrderFromManyThreads() throws Exception {
    int requests = 40;
    Map<String, List<TokenEvent>> received = new ConcurrentHashMap<>();
    CountDownLatch done = new CountDownLatch(requests);
    try (RealTimeEngineDriver driver = new RealTimeEngineDriver(FAST)) {
      Thread[] producers = new Thread[4];
      for (int p = 0; p < producers.length; p++) {
        int producer = p;
        producers[p] =
            new Thread(
                () -> {
                  for (int i = producer; i < requests; i += producers.length) {
                    String id = "r" + i;
                    received.put(id, new CopyOnWriteArrayList<>());
                    driver.submit(
                        new SequenceRequest(id, new int[50 + i], 5 + i % 7),
                        event -> {
                          received.get(id).add(event);
                          if (event.last()) {
                            done.countDown();
                          }
                        });
                  }
                });
        producers[p].start();
      }
      for (Thread producer : producers) {
        producer.join();
      }
      assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();

      for (int i = 0; i < requests; i++) {
        List<TokenEvent> events = received.get("r" + i);
        assertThat(events).hasSize(5 + i % 7);
        for (int index = 0; index < events.size(); index++) {
          assertThat(events.get(index).index()).isEqualTo(index);
          assertThat(events.get(index).last()).isEqualTo(index == events.size() - 1);
        }
        assertThat(events).isSortedAccordingTo((a, b) -> Long.compare(a.atMicros(), b.atMicros()));
      }
      RealTimeEngineDriver.Gauges gauges = driver.gauges();
      assertThat(gauges.running()).isZero();
      assertThat(gauges.waiting()).isZero();
      assertThat(gauges.steps()).isPositive();
    }
  }

  @Test
  void aFailingListenerDoesNotStopTheEngine() throws Exception {
    CountDownLatch healthy = new CountDownLatch(1);
    try (RealTimeEngineDriver driver = new RealTimeEngineDriver(FAST)) {
      driver.submit(
          new SequenceRequest("broken", new int[20], 5),
          event -> {
            throw new IllegalStateException("connection closed");
          });
      driver.submit(
          new SequenceRequest("healthy", new int[20], 5),
          event -> {
            if (event.last()) {
              healthy.countDown();
            }
          });
      assertThat(healthy.await(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void oversizedRequestsAreRefusedBeforeQueueing() {
    try (RealTimeEngineDriver driver = new RealTimeEngineDriver(FAST)) {
      assertThatThrownBy(
              () -> driver.submit(new SequenceRequest("big", new int[2000], 100), e -> {}))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("context window of 2048");
    }
  }
}
