package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KafkaServerTest {
  @Test
  void clusterIdsHaveKafkasFormatAndNeverLookLikeAnOption() {
    for (int i = 0; i < 5_000; i++) {
      String id = KafkaServer.clusterId();
      assertThat(id).hasSize(22).matches("[A-Za-z0-9_-]+").doesNotStartWith("-");
    }
  }
}
