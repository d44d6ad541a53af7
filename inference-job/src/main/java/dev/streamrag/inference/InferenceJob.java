package dev.streamrag.inference;

import dev.streamrag.inference.agent.AgentSettings;
import dev.streamrag.inference.agent.IsAgent;
import dev.streamrag.inference.agent.RunAgent;
import dev.streamrag.inference.cache.ResponseCacheLookup;
import dev.streamrag.inference.llm.GenerateAnswer;
import dev.streamrag.inference.llm.LlmPools;
import dev.streamrag.inference.output.FinishResponse;
import dev.streamrag.inference.prompt.PromptAssembler;
import dev.streamrag.inference.quota.EnforceQuotas;
import dev.streamrag.inference.quota.TenantQuotas;
import dev.streamrag.inference.retrieve.NeedsEmbedding;
import dev.streamrag.inference.retrieve.QueryEmbedding;
import dev.streamrag.inference.retrieve.RetrievePassages;
import dev.streamrag.inference.validate.RequestRules;
import dev.streamrag.inference.validate.RequestValidator;
import dev.streamrag.inference.validate.TenantBinding;
import dev.streamrag.jobs.batch.BatchSettings;
import dev.streamrag.jobs.batch.MicroBatching;
import dev.streamrag.jobs.cache.RedisEndpoint;
import dev.streamrag.jobs.config.KafkaClients;
import dev.streamrag.jobs.embed.EmbedBatchFunction;
import dev.streamrag.jobs.embed.EmbeddingModelSpec;
import dev.streamrag.jobs.embed.EmbeddingPurpose;
import dev.streamrag.jobs.kafka.AvroRecordSerializer;
import dev.streamrag.jobs.kafka.CommittedOrRecentOffsets;
import dev.streamrag.jobs.kafka.DecodingDeserializer;
import dev.streamrag.jobs.kafka.IsolatedTenants;
import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.jobs.kafka.SchemaRegistrySettings;
import dev.streamrag.jobs.kafka.SplitDeadLetters;
import dev.streamrag.jobs.llm.LlmResilienceSettings;
import dev.streamrag.jobs.llm.RetryPolicy;
import dev.streamrag.jobs.pieces.PieceSettings;
import dev.streamrag.jobs.retrieve.OpenSearchEndpoint;
import dev.streamrag.schemas.DeadLetter;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.LatencyRecord;
import dev.streamrag.schemas.internal.InFlightRequest;
import dev.streamrag.security.SecretReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;

/**
 * The request path: validate → tenant quotas → response cache → micro-batched query embedding →
 * retrieval → prompt → LLM → finish, with every finished request (rejected, cached, failed,
 * answered) joining the finish stage once. Sources and sinks are passed in, so tests run the same
 * pipeline.
 */
public final class InferenceJob {
  public static final String NAME = "streamrag-inference";

  private final Configuration config;
  private final LlmPools pools;
  private final TenantQuotas quotas;

  public InferenceJob(Configuration config) {
    this.config = config;
    this.pools = LlmPools.of(config);
    this.quotas = TenantQuotas.of(config); // checked here: a bad entry stops the job at start
    checkReplyTopicsAreNoTenantsOwn(config);
  }

  /**
   * A reply topic any request may name must not be an isolated tenant's own topic: a request of the
   * shared topic could then write into that tenant's answers.
   */
  static void checkReplyTopicsAreNoTenantsOwn(Configuration config) {
    IsolatedTenants isolated = isolatedTenants(config);
    for (String topic : config.get(InferenceOptions.PIECES_REPLY_TOPICS)) {
      for (String base :
          List.of(
              config.get(InferenceOptions.PIECES_TOPIC),
              config.get(InferenceOptions.RESPONSES_TOPIC),
              config.get(InferenceOptions.REQUESTS_TOPIC))) {
        if (isolated.tenantOf(base, topic).isPresent()) {
          throw new IllegalArgumentException(
              InferenceOptions.PIECES_REPLY_TOPICS.key()
                  + " names "
                  + topic
                  + ", an isolated tenant's own topic ("
                  + InferenceOptions.ISOLATED_TENANTS.key()
                  + "): any request could then write into that tenant's answers");
        }
      }
    }
  }

  /** Adds the pipeline to {@code requests}' environment. */
  public void build(
      DataStream<Either<DeadLetter, InferenceRequest>> requests,
      Sink<InferenceResponse> responses,
      Sink<LatencyRecord> latency,
      Sink<DeadLetter> deadLetters) {
    TypeInformation<InFlightRequest> type = new AvroTypeInfo<>(InFlightRequest.class);
    EmbeddingModelSpec model = EmbeddingModelSpec.bundled(config.get(InferenceOptions.MODEL));
    boolean cacheEnabled = config.get(InferenceOptions.CACHE_ENABLED);
    RedisEndpoint redis = cacheEnabled ? redisEndpoint() : null;
    Duration cacheTimeout = config.get(InferenceOptions.CACHE_TIMEOUT);
    int ioCapacity = config.get(InferenceOptions.RETRIEVAL_CAPACITY);
    requests
        .getExecutionEnvironment()
        .setBufferTimeout(config.get(InferenceOptions.BUFFER_TIMEOUT).toMillis());

    SingleOutputStreamOperator<InFlightRequest> validated =
        requests.process(validator(model), type).name("validate").uid("validate");
    // Over its tenant's quota, a request ends here, before it costs a cache read, an embedding,
    // a search or an LLM call. Always in the graph (a pass-through when no quota is set), so
    // turning quotas on or off keeps savepoints compatible.
    SingleOutputStreamOperator<InFlightRequest> admitted =
        validated.process(new EnforceQuotas(quotas), type).name("quota").uid("quota");

    DataStream<InFlightRequest> looked = admitted;
    if (cacheEnabled) {
      looked =
          AsyncDataStream.unorderedWait(
                  admitted,
                  new ResponseCacheLookup(redis, cacheTimeout),
                  cacheTimeout.toMillis() * 4 + 1_000,
                  TimeUnit.MILLISECONDS,
                  ioCapacity)
              .name("cache-lookup")
              .uid("cache-lookup");
    }
    SingleOutputStreamOperator<InFlightRequest> pending =
        looked.process(new SplitFinished(), type).name("cache-hits").uid("cache-hits");

    // AGENT requests take the agent loop; the others go on to embedding, retrieval and the LLM.
    DataStream<InFlightRequest> notAgents = pending;
    DataStream<InFlightRequest> agents = null;
    if (config.get(InferenceOptions.AGENT_ENABLED)) {
      notAgents = pending.filter(IsAgent.no()).name("not-agents").uid("not-agents");
      agents = agentLoop(pending.filter(IsAgent.yes()).name("agents").uid("agents"));
    }

    DataStream<InFlightRequest> embedded =
        MicroBatching.apply(
            notAgents.filter(NeedsEmbedding.yes()).name("needs-embedding").uid("needs-embedding"),
            "embed-query",
            new EmbedBatchFunction<>(
                model,
                config.get(InferenceOptions.DEVICE),
                EmbeddingPurpose.QUERY,
                QueryEmbedding::text,
                QueryEmbedding::attach,
                QueryEmbedding::failed),
            new BatchSettings(
                config.get(InferenceOptions.BATCH_SIZE),
                config.get(InferenceOptions.BATCH_WAIT),
                config.get(InferenceOptions.BATCH_IDLE_GAP)),
            type);
    // A question the model could not embed ends here with ERROR; the others go on.
    SingleOutputStreamOperator<InFlightRequest> embeddedOk =
        embedded.process(new SplitFinished(), type).name("embed-failures").uid("embed-failures");
    DataStream<InFlightRequest> ready =
        embeddedOk.union(
            notAgents.filter(NeedsEmbedding.no()).name("has-vector").uid("has-vector"));

    Duration retrievalTimeout = config.get(InferenceOptions.RETRIEVAL_TIMEOUT);
    DataStream<InFlightRequest> retrieved =
        AsyncDataStream.unorderedWait(
                ready,
                new RetrievePassages(
                    OpenSearchEndpoint.from(config),
                    config.get(InferenceOptions.INDEX),
                    config.get(InferenceOptions.TOP_K),
                    config.get(InferenceOptions.CANDIDATES),
                    retrievalTimeout,
                    ioCapacity,
                    config.get(InferenceOptions.RETRIEVAL_ON_FAILURE)
                        == InferenceOptions.RetrievalFailure.DEGRADE),
                retrievalTimeout.toMillis() * 2 + 1_000,
                TimeUnit.MILLISECONDS,
                ioCapacity)
            .name("retrieve")
            .uid("retrieve");

    DataStream<InFlightRequest> prompted =
        retrieved
            .map(
                new PromptAssembler(
                    config.get(InferenceOptions.SYSTEM_PROMPT),
                    pools.largestContextWindow(),
                    pools.promptLimits(),
                    config.get(InferenceOptions.LLM_DEFAULT_MAX_TOKENS),
                    config.get(InferenceOptions.LLM_CHARS_PER_TOKEN)),
                type)
            .name("prompt")
            .uid("prompt");

    DataStream<InFlightRequest> answered =
        AsyncDataStream.unorderedWait(
                prompted,
                new GenerateAnswer(llmSettings(), pieceSettings()),
                llmAsyncTimeout().toMillis(),
                TimeUnit.MILLISECONDS,
                config.get(InferenceOptions.LLM_CAPACITY))
            .name("llm")
            .uid("llm");

    if (agents != null) {
      answered = answered.union(agents);
    }
    SingleOutputStreamOperator<InferenceResponse> finished =
        answered
            .union(
                validated.getSideOutput(Stages.FINISHED),
                admitted.getSideOutput(Stages.FINISHED),
                pending.getSideOutput(Stages.FINISHED),
                embeddedOk.getSideOutput(Stages.FINISHED))
            .process(
                new FinishResponse(
                    redis,
                    cacheTimeout,
                    config.get(InferenceOptions.CACHE_TTL),
                    config.get(InferenceOptions.EMBEDDING_CACHE_TTL),
                    pieceSettings()),
                new AvroTypeInfo<>(InferenceResponse.class))
            .name("finish")
            .uid("finish");

    finished.sinkTo(responses).name("responses").uid("responses");
    finished.getSideOutput(FinishResponse.LATENCY).sinkTo(latency).name("latency").uid("latency");
    validated
        .getSideOutput(SplitDeadLetters.DEAD_LETTERS)
        .sinkTo(deadLetters)
        .name("dead-letters")
        .uid("dead-letters");
  }

  /**
   * The agent stage: each AGENT request's tool-calling loop, bounded by Flink's async timeout a
   * little after the longest deadline a request may have (the loop ends itself at its deadline).
   */
  private DataStream<InFlightRequest> agentLoop(DataStream<InFlightRequest> agents) {
    return AsyncDataStream.unorderedWait(
            agents,
            new RunAgent(agentSettings(), llmSettings(), pieceSettings()),
            config.get(InferenceOptions.MAX_TIMEOUT).plusSeconds(10).toMillis(),
            TimeUnit.MILLISECONDS,
            config.get(InferenceOptions.AGENT_CAPACITY))
        .name("agent")
        .uid("agent");
  }

  /** The agent options, checked here: in a task a bad value would restart it in a loop. */
  /** Where Redis is and how to log in; the password stays a reference until a task opens. */
  RedisEndpoint redisEndpoint() {
    return new RedisEndpoint(
        config.get(InferenceOptions.REDIS_URL),
        config.get(InferenceOptions.REDIS_USERNAME),
        SecretReference.ofSetting(
                InferenceOptions.REDIS_PASSWORD.key(), config.get(InferenceOptions.REDIS_PASSWORD))
            .orElse(null),
        config.get(InferenceOptions.REDIS_CA_FILE));
  }

  AgentSettings agentSettings() {
    return new AgentSettings(
        config.get(InferenceOptions.AGENT_MCP_SERVERS),
        config.get(InferenceOptions.AGENT_TENANT_TOOLS),
        config.get(InferenceOptions.AGENT_MAX_STEPS),
        config.get(InferenceOptions.AGENT_MAX_TOOL_CALLS),
        config.get(InferenceOptions.AGENT_MAX_COMPLETION_TOKENS),
        config.get(InferenceOptions.AGENT_TOOL_TIMEOUT),
        config.get(InferenceOptions.AGENT_MAX_TOOL_RESULT_CHARS),
        redisEndpoint(),
        config.get(InferenceOptions.AGENT_JOURNAL_TTL),
        config.get(InferenceOptions.AGENT_JOURNAL_TIMEOUT),
        config.get(InferenceOptions.AGENT_SYSTEM_PROMPT),
        config.get(InferenceOptions.LLM_DEFAULT_MAX_TOKENS),
        config.get(InferenceOptions.LLM_CHARS_PER_TOKEN),
        config.get(InferenceOptions.MODEL),
        OpenSearchEndpoint.from(config),
        config.get(InferenceOptions.INDEX),
        config.get(InferenceOptions.RETRIEVAL_TIMEOUT));
  }

  /**
   * Exactly-once checkpoints as configured: a few failed checkpoints tolerated before failing over,
   * and the sinks' transaction timeout checked to outlast the longest a transaction can stay open.
   */
  public static void configureCheckpoints(StreamExecutionEnvironment env, Configuration config) {
    Duration interval = config.get(InferenceOptions.CHECKPOINT_INTERVAL);
    Duration timeout = config.get(InferenceOptions.CHECKPOINT_TIMEOUT);
    int tolerable = config.get(InferenceOptions.CHECKPOINT_TOLERABLE_FAILURES);
    if (tolerable < 0) {
      throw new IllegalArgumentException(
          InferenceOptions.CHECKPOINT_TOLERABLE_FAILURES.key() + " must be >= 0, was " + tolerable);
    }
    Duration longestOpen = interval.plus(timeout).multipliedBy(tolerable + 1L).plusMinutes(2);
    Duration transactions = config.get(InferenceOptions.TRANSACTION_TIMEOUT);
    if (transactions.compareTo(longestOpen) < 0) {
      throw new IllegalArgumentException(
          InferenceOptions.TRANSACTION_TIMEOUT.key()
              + " is "
              + transactions
              + " but a transaction can stay open "
              + longestOpen
              + " ((tolerable failures + 1) x (interval + checkpoint timeout) + 2 min restart):"
              + " the broker would abort transactions the job still commits. Raise it (and the"
              + " brokers' transaction.max.timeout.ms) or shorten the checkpoint timeout.");
    }
    env.enableCheckpointing(interval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
    env.getCheckpointConfig().setCheckpointTimeout(timeout.toMillis());
    env.getCheckpointConfig().setTolerableCheckpointFailureNumber(tolerable);
  }

  /**
   * The job as deployed: requests from the Kafka topic, responses and latency records to Kafka
   * exactly once, dead letters at least once. Checkpointing is the caller's to configure.
   */
  public static void buildOnKafka(StreamExecutionEnvironment env, Configuration config) {
    new InferenceJob(config)
        .build(
            env.fromSource(kafkaSource(config), watermarks(), "requests").uid("requests"),
            responseSink(config),
            latencySink(config),
            deadLetterSink(config));
  }

  private RequestValidator validator(EmbeddingModelSpec model) {
    return new RequestValidator(
        new RequestRules(
            pools.models(),
            pools.largestContextWindow(),
            config.get(InferenceOptions.LLM_DEFAULT_MAX_TOKENS),
            config.get(InferenceOptions.MAX_PROMPT_CHARS),
            config.get(InferenceOptions.MAX_TOP_K),
            replyTopics(),
            indexes(),
            config.get(InferenceOptions.AGENT_ENABLED)),
        config.get(InferenceOptions.DEFAULT_TIMEOUT),
        config.get(InferenceOptions.MAX_TIMEOUT),
        new RequestValidator.CachePolicy(
            config.get(InferenceOptions.CACHE_ENABLED),
            config.get(InferenceOptions.CACHE_NONDETERMINISTIC),
            config.get(InferenceOptions.INDEX_VERSION),
            model.name()),
        NAME);
  }

  /** Where answers stream to, or null when streaming is off. */
  PieceSettings pieceSettings() {
    if (!config.get(InferenceOptions.PIECES_ENABLED)) {
      return null;
    }
    if (config.get(InferenceOptions.PIECES_FORMAT) == RecordFormat.REGISTRY) {
      // Pieces go to the pieces topic and to the reply topics requests name: one registry
      // subject each, registered as requests arrive. Not supported; responses can be.
      throw new IllegalArgumentException(
          InferenceOptions.PIECES_FORMAT.key()
              + " is AVRO or JSON; REGISTRY applies to "
              + InferenceOptions.RESPONSES_FORMAT.key());
    }
    return new PieceSettings(
        KafkaClients.from(config),
        config.get(InferenceOptions.PIECES_TOPIC),
        config.get(InferenceOptions.PIECES_REPLY_TOPICS),
        config.get(InferenceOptions.PIECES_FORMAT),
        config.get(InferenceOptions.PIECES_COALESCE_TOKENS),
        config.get(InferenceOptions.PIECES_COALESCE_WAIT),
        config.get(InferenceOptions.PIECES_LINGER),
        isolatedTenants(config));
  }

  /** The indexes a request may search: the deployment's and the configured others. */
  private List<String> indexes() {
    List<String> indexes = new ArrayList<>();
    indexes.add(config.get(InferenceOptions.INDEX));
    indexes.addAll(config.get(InferenceOptions.RETRIEVAL_INDEXES));
    return indexes;
  }

  /** The topics a request's replyTo may name: the pieces topic and the configured others. */
  private List<String> replyTopics() {
    List<String> topics = new ArrayList<>();
    topics.add(config.get(InferenceOptions.PIECES_TOPIC));
    topics.addAll(config.get(InferenceOptions.PIECES_REPLY_TOPICS));
    return topics;
  }

  private GenerateAnswer.Settings llmSettings() {
    // The pools were checked when this job was built, before submission: in a task, a bad value
    // would restart it in a loop.
    return new GenerateAnswer.Settings(
        pools.pools(),
        config.get(InferenceOptions.LLM_AFFINITY_LOAD_FACTOR),
        config.get(InferenceOptions.LLM_LOAD_POLL_INTERVAL),
        new RetryPolicy(
            config.get(InferenceOptions.LLM_MAX_ATTEMPTS),
            config.get(InferenceOptions.LLM_BACKOFF_BASE),
            config.get(InferenceOptions.LLM_BACKOFF_MAX)),
        config.get(InferenceOptions.LLM_ATTEMPT_TIMEOUT),
        SecretReference.ofSetting(
                InferenceOptions.LLM_API_KEY.key(),
                config.getOptional(InferenceOptions.LLM_API_KEY).orElse(null))
            .orElse(null),
        config.get(InferenceOptions.LLM_IGNORE_EOS),
        llmResilience());
  }

  /** How LLM calls survive slow, stalled and failing endpoints. */
  LlmResilienceSettings llmResilience() {
    double budget = config.get(InferenceOptions.LLM_RETRY_BUDGET);
    LlmResilienceSettings.Builder settings =
        LlmResilienceSettings.builder()
            .firstTokenTimeout(config.get(InferenceOptions.LLM_FIRST_TOKEN_TIMEOUT))
            .idleTimeout(config.get(InferenceOptions.LLM_IDLE_TIMEOUT))
            .maxRetryAfter(config.get(InferenceOptions.LLM_MAX_RETRY_AFTER))
            .retryBudgetEnabled(budget >= 0)
            .circuitBreakerEnabled(config.get(InferenceOptions.LLM_CIRCUIT_BREAKER))
            .breakerOpenDuration(config.get(InferenceOptions.LLM_BREAKER_OPEN_DURATION));
    if (budget >= 0) {
      settings.retryBudgetRatio(budget);
    }
    return settings.build();
  }

  /**
   * Flink's safety net behind the client's own deadline handling: later than any deadline the
   * client enforces by itself (the default timeout, or every attempt in full), plus a margin.
   */
  Duration llmAsyncTimeout() {
    Duration attempts =
        config
            .get(InferenceOptions.LLM_ATTEMPT_TIMEOUT)
            .multipliedBy(config.get(InferenceOptions.LLM_MAX_ATTEMPTS));
    Duration longest =
        attempts.compareTo(config.get(InferenceOptions.DEFAULT_TIMEOUT)) > 0
            ? attempts
            : config.get(InferenceOptions.DEFAULT_TIMEOUT);
    return longest.plusSeconds(5);
  }

  /**
   * Requests from the configured topic, from the committed offsets; a new consumer group starts at
   * the requests of the last {@code inference.new-group-lookback}, not at the topic's beginning.
   */
  /** The tenants with topics of their own ({@code tenancy.isolated-tenants}). */
  static IsolatedTenants isolatedTenants(Configuration config) {
    return new IsolatedTenants(
        new java.util.HashSet<>(config.get(InferenceOptions.ISOLATED_TENANTS)));
  }

  public static KafkaSource<Either<DeadLetter, InferenceRequest>> kafkaSource(
      Configuration config) {
    return KafkaSource.<Either<DeadLetter, InferenceRequest>>builder()
        .setProperties(KafkaClients.from(config).toProperties())
        .setTopics(
            isolatedTenants(config).requestTopics(config.get(InferenceOptions.REQUESTS_TOPIC)))
        .setGroupId(config.get(InferenceOptions.CONSUMER_GROUP))
        .setStartingOffsets(
            new CommittedOrRecentOffsets(config.get(InferenceOptions.NEW_GROUP_LOOKBACK)))
        .setDeserializer(
            new TenantBinding(
                new DecodingDeserializer<>(
                    InferenceRequest.class,
                    config.get(InferenceOptions.MAX_MESSAGE_BYTES),
                    NAME,
                    SchemaRegistrySettings.from(config).orElse(null)),
                config.get(InferenceOptions.REQUESTS_TOPIC),
                isolatedTenants(config),
                NAME))
        .build();
  }

  /** Kafka timestamps are kept as the records' timestamps (createdAt fallback); no watermarks. */
  public static WatermarkStrategy<Either<DeadLetter, InferenceRequest>> watermarks() {
    return WatermarkStrategy.noWatermarks();
  }

  /** Responses, keyed by requestId, in Kafka transactions committed on checkpoints. */
  public static Sink<InferenceResponse> responseSink(Configuration config) {
    IsolatedTenants isolated = isolatedTenants(config);
    String responses = config.get(InferenceOptions.RESPONSES_TOPIC);
    AvroRecordSerializer<InferenceResponse> serializer =
        new AvroRecordSerializer<>(
            InferenceResponse.class,
            responses,
            InferenceResponse::getRequestId,
            config.get(InferenceOptions.RESPONSES_FORMAT),
            SchemaRegistrySettings.from(config).orElse(null));
    if (!isolated.isEmpty()) {
      // Each isolated tenant's answers go to its own topic, which only it may read.
      serializer.routedBy(response -> isolated.topic(responses, response.getTenantId()));
    }
    return KafkaSink.<InferenceResponse>builder()
        .setKafkaProducerConfig(KafkaClients.from(config).toProperties())
        .setRecordSerializer(serializer)
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(
            config.get(InferenceOptions.TRANSACTIONAL_ID_PREFIX) + "-responses")
        .setKafkaProducerConfig(transactionalProducer(config))
        .build();
  }

  /** Latency records, exactly once as well, so the latency sink counts each request once. */
  public static Sink<LatencyRecord> latencySink(Configuration config) {
    return KafkaSink.<LatencyRecord>builder()
        .setKafkaProducerConfig(KafkaClients.from(config).toProperties())
        .setRecordSerializer(
            new AvroRecordSerializer<>(
                LatencyRecord.class,
                config.get(InferenceOptions.LATENCY_TOPIC),
                LatencyRecord::getRequestId,
                latencyFormat(config)))
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(config.get(InferenceOptions.TRANSACTIONAL_ID_PREFIX) + "-latency")
        .setKafkaProducerConfig(transactionalProducer(config))
        .build();
  }

  /**
   * Latency records are the platform's own (the latency sink and the report read them), so they
   * follow the responses' format except REGISTRY, which only clients of the responses ask for.
   */
  static RecordFormat latencyFormat(Configuration config) {
    RecordFormat format = config.get(InferenceOptions.RESPONSES_FORMAT);
    return format == RecordFormat.REGISTRY ? RecordFormat.AVRO : format;
  }

  /**
   * Records that are not requests, at least once (they carry their offsets, so duplicates show).
   */
  public static Sink<DeadLetter> deadLetterSink(Configuration config) {
    return KafkaSink.<DeadLetter>builder()
        .setKafkaProducerConfig(KafkaClients.from(config).toProperties())
        .setRecordSerializer(
            new AvroRecordSerializer<>(
                DeadLetter.class, config.get(InferenceOptions.DEAD_LETTER_TOPIC), null))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }

  /**
   * Flink's default transaction timeout (1 h) exceeds the brokers' default maximum (15 min) and
   * would be refused; the configured one is checked in {@link #configureCheckpoints} to outlast the
   * longest a transaction stays open.
   */
  private static Properties transactionalProducer(Configuration config) {
    Properties properties = new Properties();
    // Deliberately the brokers' default message.max.bytes: the finish stage cuts a response to
    // fit it (OutputLimits), so no record is refused and fails the sink.
    properties.setProperty("max.request.size", String.valueOf(1024 * 1024));
    properties.setProperty(
        "transaction.timeout.ms",
        String.valueOf(config.get(InferenceOptions.TRANSACTION_TIMEOUT).toMillis()));
    return properties;
  }
}
