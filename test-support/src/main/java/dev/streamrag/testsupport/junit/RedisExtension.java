package dev.streamrag.testsupport.junit;

import dev.streamrag.testsupport.RedisServer;

/** A real redis-server shared by the test run (or the one {@code STREAMRAG_REDIS_URL} names). */
public final class RedisExtension extends SharedServerExtension<RedisServer> {
  public RedisExtension() {
    super(RedisServer.class, RedisServer::externalOrStart);
  }

  /** {@code redis://host:port}. */
  public String uri() {
    return server().uri();
  }

  public RedisServer redis() {
    return server();
  }
}
