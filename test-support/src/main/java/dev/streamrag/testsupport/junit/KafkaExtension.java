package dev.streamrag.testsupport.junit;

import dev.streamrag.testsupport.KafkaServer;

/**
 * A real Kafka broker shared by the test run (or the one {@code STREAMRAG_KAFKA_BOOTSTRAP} names).
 */
public final class KafkaExtension extends SharedServerExtension<KafkaServer> {
  public KafkaExtension() {
    super(KafkaServer.class, KafkaServer::externalOrStart);
  }

  public String bootstrapServers() {
    return server().bootstrapServers();
  }

  public KafkaServer kafka() {
    return server();
  }
}
