package dev.streamrag.gateway.kafka;

import dev.streamrag.gateway.logging.RateLimitedLog;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows whether Kafka can take requests, without asking it on the request path: a background thread
 * runs a cheap {@code describeCluster} every interval, with a short timeout, and HTTP handlers read
 * the last result. The first time Kafka answers, the topics are checked too (the requests topic
 * exists, the pieces topic has the reply partition); a missing one is a configuration error that
 * keeps the gateway unavailable.
 *
 * <p>The admin client is created by the checks, not the constructor, and created again with backoff
 * while that fails: kafka-clients refuses to construct a client whose bootstrap names do not
 * resolve (yet), which must not stop the gateway from starting. {@link #reason()} is for the log
 * only: it names the cluster, which clients must not learn.
 */
public final class KafkaHealth implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaHealth.class);

  private final KafkaSettings settings;
  private final Properties config;
  private final ScheduledExecutorService checker;
  private final Backoff backoff = new Backoff(1000, 30_000);
  private final RateLimitedLog creationLog = new RateLimitedLog(LOG, 30_000);
  private volatile Admin admin;
  private volatile boolean closed;
  private volatile boolean reachable;
  private volatile String unreachable;
  private volatile TopicCheck topics =
      new TopicCheck(TopicCheck.Outcome.UNREACHABLE, "not checked yet");
  private volatile Consumer<Boolean> onCheck = up -> {};

  public KafkaHealth(KafkaSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.config = settings.common("streamrag-gateway-health-p" + settings.replyPartition());
    config.put(
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(settings.timeoutMillis()));
    config.put(
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
        Integer.toString(settings.timeoutMillis()));
    this.unreachable = unreachableMessage();
    this.checker =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "gateway-kafka-health");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Called after every background check with whether Kafka is {@link #available()}. */
  public void onCheck(Consumer<Boolean> onCheck) {
    this.onCheck = Objects.requireNonNull(onCheck, "onCheck");
  }

  /** Checks the cluster and the topics now (blocking, up to the Kafka timeout). */
  public synchronized TopicCheck checkNow() {
    reachable = admin() != null && describeCluster();
    if (reachable && !topics.isOk()) {
      TopicCheck before = topics;
      topics = describeTopics();
      if (topics.outcome() == TopicCheck.Outcome.MISCONFIGURED
          && !topics.message().equals(before.message())) {
        LOG.error("{}", topics.message());
      }
    }
    if (!reachable && topics.outcome() != TopicCheck.Outcome.MISCONFIGURED) {
      topics = new TopicCheck(TopicCheck.Outcome.UNREACHABLE, unreachable);
    }
    return topics;
  }

  /** The admin client, created now if its backoff allows; null while it cannot be. */
  private Admin admin() {
    if (admin != null || closed || !backoff.due()) {
      return admin;
    }
    try {
      admin = Admin.create(config);
      backoff.reset();
      unreachable = unreachableMessage();
    } catch (KafkaException e) {
      long wait = backoff.next();
      unreachable =
          "cannot create a Kafka client for "
              + settings.bootstrapServers()
              + " ("
              + e.getClass().getSimpleName()
              + (e.getCause() == null ? "" : ": " + e.getCause().getMessage())
              + ")";
      creationLog.warn("{}; retrying in {} ms at the earliest", unreachable, wait);
    }
    return admin;
  }

  /** Repeats {@link #checkNow()} every {@code interval}, in the background. */
  public void checkEvery(Duration interval) {
    checker.scheduleWithFixedDelay(
        () -> {
          boolean before = available();
          try {
            checkNow();
          } catch (RuntimeException e) {
            LOG.warn("Kafka health check failed", e);
            reachable = false;
          }
          boolean after = available();
          if (before != after) {
            LOG.info("Kafka is {}", after ? "available again" : "unavailable: " + reason());
          }
          onCheck.accept(after);
        },
        interval.toMillis(),
        interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Whether Kafka answered the last check and the topics are as configured. */
  public boolean available() {
    return reachable && topics.isOk();
  }

  /** Whether the last check reached Kafka. */
  public boolean reachable() {
    return reachable;
  }

  /** Why Kafka is not {@link #available()}, or null if it is. */
  public String reason() {
    if (available()) {
      return null;
    }
    return reachable ? topics.message() : unreachable;
  }

  private String unreachableMessage() {
    return "Kafka at "
        + settings.bootstrapServers()
        + " did not answer within "
        + settings.timeout();
  }

  private boolean describeCluster() {
    try {
      admin()
          .describeCluster(new DescribeClusterOptions().timeoutMs(settings.timeoutMillis()))
          .clusterId()
          .get(settings.timeoutMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException | TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private TopicCheck describeTopics() {
    String requests = settings.requestsTopic();
    String pieces = settings.piecesTopic();
    Map<String, TopicDescription> described;
    try {
      described =
          admin()
              .describeTopics(
                  List.of(requests, pieces),
                  new DescribeTopicsOptions().timeoutMs(settings.timeoutMillis()))
              .allTopicNames()
              .get(settings.timeoutMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return misconfigured(
            "topic "
                + requests
                + " or "
                + pieces
                + " does not exist on "
                + settings.bootstrapServers()
                + ": create them first (kafka/topics.yaml)");
      }
      return new TopicCheck(
          TopicCheck.Outcome.UNREACHABLE,
          "describing the topics failed: " + e.getCause().getClass().getSimpleName());
    } catch (TimeoutException e) {
      return new TopicCheck(TopicCheck.Outcome.UNREACHABLE, unreachable);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new TopicCheck(TopicCheck.Outcome.UNREACHABLE, "interrupted");
    }
    int partitions = described.get(pieces).partitions().size();
    if (settings.replyPartition() >= partitions) {
      return misconfigured(
          "reply partition "
              + settings.replyPartition()
              + " does not exist: topic "
              + pieces
              + " has "
              + partitions
              + " partition(s), 0.."
              + (partitions - 1)
              + "; give --reply-partition in that range or add partitions to the topic");
    }
    return TopicCheck.OK;
  }

  private static TopicCheck misconfigured(String message) {
    return new TopicCheck(TopicCheck.Outcome.MISCONFIGURED, message);
  }

  @Override
  public void close() {
    closed = true;
    checker.shutdownNow();
    try {
      checker.awaitTermination(settings.timeoutMillis() + 1000L, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      if (admin != null) {
        admin.close(Duration.ofMillis(settings.timeoutMillis()));
      }
    }
  }
}
