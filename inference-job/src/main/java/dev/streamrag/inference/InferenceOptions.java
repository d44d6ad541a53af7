package dev.streamrag.inference;

import dev.streamrag.jobs.config.CommonOptions;
import dev.streamrag.jobs.kafka.RecordFormat;
import dev.streamrag.jobs.llm.RoutingPolicy;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every setting of the inference job, with its default and meaning (see {@code JobConfig}). The
 * defaults fit the local stack: everything on 127.0.0.1, llm-sim serving qwen2.5-0.5b-l4.
 */
public final class InferenceOptions {
  private InferenceOptions() {}

  public static final ConfigOption<String> KAFKA_BOOTSTRAP = CommonOptions.KAFKA_BOOTSTRAP;

  public static final ConfigOption<String> KAFKA_PROPERTIES_FILE =
      CommonOptions.KAFKA_PROPERTIES_FILE;

  public static final ConfigOption<String> REQUESTS_TOPIC = CommonOptions.REQUESTS_TOPIC;

  public static final ConfigOption<String> RESPONSES_TOPIC = CommonOptions.RESPONSES_TOPIC;

  public static final ConfigOption<String> LATENCY_TOPIC = CommonOptions.LATENCY_TOPIC;

  public static final ConfigOption<String> PIECES_TOPIC = CommonOptions.PIECES_TOPIC;

  public static final ConfigOption<String> DEAD_LETTER_TOPIC =
      ConfigOptions.key("inference.dead-letter-topic")
          .stringType()
          .defaultValue("rag.dead-letters")
          .withDescription("Topic for records that are not requests at all, with the reason.");

  public static final ConfigOption<String> CONSUMER_GROUP =
      ConfigOptions.key("inference.consumer-group")
          .stringType()
          .defaultValue("streamrag-inference")
          .withDescription("Kafka consumer group (offsets are committed on checkpoints).");

  public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX =
      ConfigOptions.key("inference.transactional-id-prefix")
          .stringType()
          .defaultValue("streamrag-inference")
          .withDescription(
              "Prefix of the Kafka transactional ids of the exactly-once sinks; unique per job"
                  + " on a cluster.");

  public static final ConfigOption<Duration> BUFFER_TIMEOUT =
      ConfigOptions.key("inference.buffer-timeout")
          .durationType()
          .defaultValue(Duration.ZERO)
          .withDescription(
              "How long Flink may hold records in a network buffer before sending it on. Every"
                  + " stage that joins two streams is a network hop, and Flink's default (100 ms)"
                  + " would add up to that much per hop; requests are few and heavy, so 0 (send"
                  + " each record at once) costs little.");

  public static final ConfigOption<Duration> CHECKPOINT_INTERVAL =
      ConfigOptions.key("inference.checkpoint-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "Checkpoint interval. Streamed answers (rag.pieces) do not wait for it; the"
                  + " exactly-once record on rag.responses becomes readable (read_committed) when"
                  + " the checkpoint after it completes, so about half of this later on average."
                  + " Shorter costs CPU and broker transactions (measured in"
                  + " docs/benchmarks/streaming.md); longer replays more after a failure.");

  public static final ConfigOption<Duration> CHECKPOINT_TIMEOUT =
      ConfigOptions.key("inference.checkpoint-timeout")
          .durationType()
          .defaultValue(Duration.ofMinutes(2))
          .withDescription(
              "A checkpoint not complete by then is declared failed. Its transactions stay open"
                  + " until a later one completes, which the transaction timeout must outlast.");

  public static final ConfigOption<Integer> CHECKPOINT_TOLERABLE_FAILURES =
      ConfigOptions.key("inference.checkpoint-tolerable-failures")
          .intType()
          .defaultValue(3)
          .withDescription(
              "Consecutive failed checkpoints tolerated before the job fails over: one slow"
                  + " checkpoint (a broker hiccup) must not restart every in-flight request.");

  public static final ConfigOption<Duration> TRANSACTION_TIMEOUT =
      ConfigOptions.key("kafka.transaction-timeout")
          .durationType()
          .defaultValue(Duration.ofMinutes(15))
          .withDescription(
              "Kafka transaction timeout of the exactly-once sinks; at most the brokers'"
                  + " transaction.max.timeout.ms (15 min by default). Must exceed the longest a"
                  + " transaction can stay open: (tolerable failures + 1) x (interval + checkpoint"
                  + " timeout), plus 2 min for a restart; checked at start. A shorter one lets the"
                  + " broker abort a transaction the job will still commit: lost answers.");

  public static final ConfigOption<RecordFormat> RESPONSES_FORMAT =
      ConfigOptions.key("inference.responses-format")
          .enumType(RecordFormat.class)
          .defaultValue(RecordFormat.AVRO)
          .withDescription(
              "How responses and latency records are written: AVRO (single-object encoding),"
                  + " JSON, which kcat, the console consumer and any language read as they are, or"
                  + " REGISTRY: responses in the schema registry's framing (needs"
                  + " schema-registry.url), for Confluent-compatible deserializers; latency"
                  + " records stay AVRO then, for the platform's own readers.");

  public static final ConfigOption<Boolean> PIECES_ENABLED =
      ConfigOptions.key("pieces.enabled")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "Publish each answer as it streams (head, text, end) on the pieces topic, at once"
                  + " and at least once. Off: clients see only the committed responses.");

  public static final ConfigOption<RecordFormat> PIECES_FORMAT =
      ConfigOptions.key("pieces.format")
          .enumType(RecordFormat.class)
          .defaultValue(RecordFormat.AVRO)
          .withDescription("How pieces are written: AVRO or JSON (REGISTRY is refused).");

  public static final ConfigOption<List<String>> PIECES_REPLY_TOPICS =
      ConfigOptions.key("pieces.reply-topics")
          .stringType()
          .asList()
          .defaultValues()
          .withDescription(
              "Further topics a request's replyTo may name besides pieces.topic (e.g. a gateway"
                  + " fleet's own), separated by ';'. Any other is REJECTED: clients must not"
                  + " make the job write to arbitrary topics.");

  public static final ConfigOption<List<String>> ISOLATED_TENANTS =
      ConfigOptions.key("tenancy.isolated-tenants")
          .stringType()
          .asList()
          .defaultValues()
          .withDescription(
              "Tenants that use Kafka directly, each through its own topics, separated by ';'."
                  + " Tenant acme writes requests to <inference.requests-topic>.acme and reads"
                  + " <inference.responses-topic>.acme and <pieces.topic>.acme; a request's tenant"
                  + " is its topic's (another named: dead letter tenant.mismatch), and the shared"
                  + " requests topic refuses acme (tenant.isolated). Kafka ACLs on those topics then"
                  + " decide who acts as whom and who reads what. The topics must exist. Others"
                  + " use the shared topics, written by trusted producers such as the gateway.");

  public static final ConfigOption<Integer> PIECES_COALESCE_TOKENS =
      ConfigOptions.key("pieces.coalesce-tokens")
          .intType()
          .defaultValue(16)
          .withDescription(
              "Text pieces after an answer's first token carry up to this many tokens (the first"
                  + " token always goes alone, at once): fewer Kafka records for long answers.");

  public static final ConfigOption<Duration> PIECES_COALESCE_WAIT =
      ConfigOptions.key("pieces.coalesce-wait")
          .durationType()
          .defaultValue(Duration.ofMillis(50))
          .withDescription(
              "Longest a token waits for its piece to fill before the piece is sent anyway: the"
                  + " client sees text at least this often (20 times a second by default).");

  public static final ConfigOption<Duration> PIECES_LINGER =
      ConfigOptions.key("pieces.linger")
          .durationType()
          .defaultValue(Duration.ZERO)
          .withDescription("linger.ms of the pieces producer: 0 sends each piece at once.");

  public static final ConfigOption<Integer> MAX_MESSAGE_BYTES =
      ConfigOptions.key("inference.max-message-bytes")
          .intType()
          .defaultValue(1 << 20)
          .withDescription("Larger request records go to the dead-letter topic.");

  public static final ConfigOption<Integer> MAX_PROMPT_CHARS =
      ConfigOptions.key("inference.max-prompt-chars")
          .intType()
          .defaultValue(100_000)
          .withDescription("Requests whose messages hold more characters are REJECTED.");

  public static final ConfigOption<Duration> DEFAULT_TIMEOUT =
      ConfigOptions.key("inference.default-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription("Deadline of a request that names none, from its createdAt.");

  public static final ConfigOption<Duration> MAX_TIMEOUT =
      ConfigOptions.key("inference.max-timeout")
          .durationType()
          .defaultValue(Duration.ofMinutes(10))
          .withDescription(
              "A request's deadline lies at most this long after its createdAt; a later one is"
                  + " brought in to it (an unbounded deadline would hold slots and retries).");

  public static final ConfigOption<Duration> NEW_GROUP_LOOKBACK =
      ConfigOptions.key("inference.new-group-lookback")
          .durationType()
          .defaultValue(Duration.ofMinutes(10))
          .withDescription(
              "A consumer group with no committed offsets starts at the requests of this last"
                  + " stretch of time, not at the topic's beginning: older ones could only time"
                  + " out. A restore from a checkpoint resumes where it was.");

  public static final ConfigOption<List<String>> RETRIEVAL_INDEXES =
      ConfigOptions.key("retrieval.allowed-indexes")
          .stringType()
          .asList()
          .defaultValues()
          .withDescription(
              "Further indexes a request's retrieval.index may name besides retrieval.index,"
                  + " separated by ';'. Any other name (wildcards, comma lists, system indexes"
                  + " included) is REJECTED.");

  public static final ConfigOption<String> LLM_POOLS_FILE =
      ConfigOptions.key("llm.pools-file")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "YAML file of LLM pools (name, hardware gpu|cpu, instance from the price table,"
                  + " models, endpoints, routing, contextWindow, maxConcurrency per server,"
                  + " maxPromptTokens, kinds): each request goes to the first pool, in the file's"
                  + " order, that serves its model, fits it and has room, and fails over to the"
                  + " next. Replaces llm.endpoints and llm.models, which may then not be set."
                  + " Without it, one pool 'default' of llm.endpoints serves llm.models.");

  public static final ConfigOption<String> LLM_PRICES_FILE =
      ConfigOptions.key("llm.prices-file")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "YAML price table the pools' instances must be listed in; default: the bundled"
                  + " list prices (prices.yaml), the same table the report prices runs with.");

  public static final ConfigOption<List<String>> LLM_ENDPOINTS =
      ConfigOptions.key("llm.endpoints")
          .stringType()
          .asList()
          .defaultValues("http://127.0.0.1:8000")
          .withDescription(
              "Base URLs of the OpenAI-compatible servers (vLLM, llm-sim), separated by ';'."
                  + " Requests go to {base}/v1/chat/completions, or {base}/chat/completions when"
                  + " the base ends in /v1 as OpenAI clients write it; a path prefix is kept"
                  + " (https://gw.example.com/openai/v1).");

  public static final ConfigOption<List<String>> LLM_MODELS =
      ConfigOptions.key("llm.models")
          .stringType()
          .asList()
          .defaultValues("qwen2.5-0.5b-l4")
          .withDescription(
              "Model names the endpoints serve, separated by ';'; the first answers requests"
                  + " that name none, other names are REJECTED.");

  public static final ConfigOption<Integer> LLM_CONTEXT_WINDOW =
      ConfigOptions.key("llm.context-window")
          .intType()
          .defaultValue(8192)
          .withDescription("The models' context window in tokens (vLLM's max_model_len).");

  public static final ConfigOption<Integer> LLM_DEFAULT_MAX_TOKENS =
      ConfigOptions.key("llm.default-max-tokens")
          .intType()
          .defaultValue(256)
          .withDescription("max_tokens of requests that set none.");

  public static final ConfigOption<Double> LLM_CHARS_PER_TOKEN =
      ConfigOptions.key("llm.chars-per-token")
          .doubleType()
          .defaultValue(3.0)
          .withDescription(
              "Characters per token for the prompt budget estimate; lower is safer (English"
                  + " BPE averages about 4).");

  public static final ConfigOption<RoutingPolicy> LLM_ROUTING =
      ConfigOptions.key("llm.routing")
          .enumType(RoutingPolicy.class)
          .defaultValue(RoutingPolicy.LEAST_OUTSTANDING)
          .withDescription(
              "How an endpoint is chosen: ROUND_ROBIN, LEAST_OUTSTANDING (fewest in flight),"
                  + " PREFIX_AFFINITY: the endpoint likely to hold the prompt's leading blocks in"
                  + " its prefix cache (from where this task sent them before), within a load"
                  + " bound (llm.affinity-load-factor), else the least loaded; or LOAD_AWARE: the"
                  + " least load as the servers report it on /metrics (waiting requests, KV-cache"
                  + " usage, read every llm.load-poll-interval) plus this task's in flight.");

  public static final ConfigOption<Duration> LLM_LOAD_POLL_INTERVAL =
      ConfigOptions.key("llm.load-poll-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(1))
          .withDescription(
              "LOAD_AWARE: how often each task reads its servers' /metrics (vLLM's, llm-sim's);"
                  + " a reading older than three intervals no longer counts. 50 ms or more.");

  public static final ConfigOption<Double> LLM_AFFINITY_LOAD_FACTOR =
      ConfigOptions.key("llm.affinity-load-factor")
          .doubleType()
          .defaultValue(1.25)
          .withDescription(
              "PREFIX_AFFINITY's bound (as in consistent hashing with bounded loads): an endpoint"
                  + " takes a request while its in-flight count stays within this times the average"
                  + " of the endpoints that can take it, so a hot prefix spills to the next best"
                  + " endpoint. 1 or more.");

  public static final ConfigOption<Integer> LLM_CAPACITY =
      ConfigOptions.key("llm.capacity")
          .intType()
          .defaultValue(256)
          .withDescription("Most LLM calls in flight per task (Async I/O capacity).");

  public static final ConfigOption<Integer> LLM_MAX_ATTEMPTS =
      ConfigOptions.key("llm.max-attempts")
          .intType()
          .defaultValue(3)
          .withDescription("Attempts per request, the first included, on 429/5xx/lost streams.");

  public static final ConfigOption<Duration> LLM_BACKOFF_BASE =
      ConfigOptions.key("llm.backoff-base")
          .durationType()
          .defaultValue(Duration.ofMillis(100))
          .withDescription("Backoff before the first retry is random up to this, doubling.");

  public static final ConfigOption<Duration> LLM_BACKOFF_MAX =
      ConfigOptions.key("llm.backoff-max")
          .durationType()
          .defaultValue(Duration.ofSeconds(2))
          .withDescription("Upper bound of the backoff.");

  public static final ConfigOption<Duration> LLM_ATTEMPT_TIMEOUT =
      ConfigOptions.key("llm.attempt-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(60))
          .withDescription("Longest one attempt may take (the request's deadline also applies).");

  public static final ConfigOption<Duration> LLM_FIRST_TOKEN_TIMEOUT =
      ConfigOptions.key("llm.first-token-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(10))
          .withDescription(
              "An attempt with no token by then is cancelled and retried on another endpoint"
                  + " (llm.stream_idle). 0 turns it off.");

  public static final ConfigOption<Duration> LLM_IDLE_TIMEOUT =
      ConfigOptions.key("llm.idle-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "An attempt whose stream stalls this long between tokens is cancelled and retried"
                  + " on another endpoint (llm.stream_idle). 0 turns it off.");

  public static final ConfigOption<Duration> LLM_MAX_RETRY_AFTER =
      ConfigOptions.key("llm.max-retry-after")
          .durationType()
          .defaultValue(Duration.ofSeconds(60))
          .withDescription(
              "Retry-After on a 429 or 503 keeps the endpoint out of rotation that long, at most"
                  + " this (never past a request's deadline). 0 ignores the header.");

  public static final ConfigOption<Double> LLM_RETRY_BUDGET =
      ConfigOptions.key("llm.retry-budget")
          .doubleType()
          .defaultValue(0.2)
          .withDescription(
              "Retries allowed per first attempt over 10 s (plus 10 a second whatever the"
                  + " traffic), so an outage of every endpoint does not multiply the load; past it"
                  + " a retryable failure ends the call (llm.retry_budget_exhausted). A negative"
                  + " value turns the budget off.");

  public static final ConfigOption<Boolean> LLM_CIRCUIT_BREAKER =
      ConfigOptions.key("llm.circuit-breaker")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "A breaker per endpoint: one where half of the last 20 attempts failed (5xx,"
                  + " connection failures, stalls; not 429) gets no traffic for"
                  + " llm.breaker-open-duration, then 3 probes; if every endpoint is open, calls"
                  + " fail at once (llm.circuit_open).");

  public static final ConfigOption<Duration> LLM_BREAKER_OPEN_DURATION =
      ConfigOptions.key("llm.breaker-open-duration")
          .durationType()
          .defaultValue(Duration.ofSeconds(10))
          .withDescription("How long a tripped endpoint breaker turns traffic away.");

  public static final ConfigOption<String> LLM_API_KEY =
      ConfigOptions.key("llm.api-key")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Where the endpoints' bearer token is (vLLM --api-key), if they need one: a secret"
                  + " reference, ${env:NAME}, ${file:PATH:KEY} or ${dir:DIR:FILE}, read by each"
                  + " task when it opens; the key itself is refused, so it never travels in the job"
                  + " graph.");

  public static final ConfigOption<Boolean> LLM_IGNORE_EOS =
      ConfigOptions.key("llm.ignore-eos")
          .booleanType()
          .defaultValue(false)
          .withDescription(
              "Benchmarks only: ask the server for maxTokens tokens whatever the answer (vLLM's"
                  + " ignore_eos), so a scenario's output lengths are what it says.");

  public static final ConfigOption<String> SYSTEM_PROMPT =
      ConfigOptions.key("prompt.system")
          .stringType()
          .defaultValue(
              "Answer the question using only the numbered context passages. If they do not"
                  + " contain the answer, say so.")
          .withDescription("System message of RAG prompts.");

  public static final ConfigOption<String> REDIS_URL =
      ConfigOptions.key("redis.url")
          .stringType()
          .defaultValue("redis://127.0.0.1:6379")
          .withDescription(
              "Redis of the response cache and the agent journal: redis://host:port, or"
                  + " rediss:// for TLS. No user or password in it: see redis.username and"
                  + " redis.password.");

  public static final ConfigOption<String> REDIS_USERNAME =
      ConfigOptions.key("redis.username")
          .stringType()
          .defaultValue("")
          .withDescription("Redis ACL user to log in as; empty: the default user.");

  public static final ConfigOption<String> REDIS_PASSWORD =
      ConfigOptions.key("redis.password")
          .stringType()
          .defaultValue("")
          .withDescription(
              "Where the Redis password is (AUTH, or the ACL user's): a secret reference,"
                  + " ${env:NAME}, ${file:PATH:KEY} or ${dir:DIR:FILE}, read by each task when it"
                  + " connects; a password written out is refused. Empty: no password.");

  public static final ConfigOption<String> REDIS_CA_FILE =
      ConfigOptions.key("redis.ca-file")
          .stringType()
          .defaultValue("")
          .withDescription(
              "A PEM CA certificate rediss:// trusts (a private CA); empty: the JVM's default"
                  + " trust.");

  public static final ConfigOption<Boolean> CACHE_ENABLED =
      ConfigOptions.key("cache.enabled")
          .booleanType()
          .defaultValue(true)
          .withDescription("Use the Redis caches at all.");

  public static final ConfigOption<Duration> CACHE_TTL =
      ConfigOptions.key("cache.response-ttl")
          .durationType()
          .defaultValue(Duration.ofHours(1))
          .withDescription("How long a cached answer is served.");

  public static final ConfigOption<Duration> EMBEDDING_CACHE_TTL =
      ConfigOptions.key("cache.embedding-ttl")
          .durationType()
          .defaultValue(Duration.ofHours(24))
          .withDescription("How long a cached query embedding is used.");

  public static final ConfigOption<Duration> CACHE_TIMEOUT =
      ConfigOptions.key("cache.timeout")
          .durationType()
          .defaultValue(Duration.ofMillis(50))
          .withDescription("Longest a cache read may take; slower reads count as a miss.");

  public static final ConfigOption<Boolean> CACHE_NONDETERMINISTIC =
      ConfigOptions.key("cache.nondeterministic")
          .booleanType()
          .defaultValue(false)
          .withDescription(
              "Also cache answers sampled with temperature > 0 and no seed (not reproducible).");

  public static final ConfigOption<String> MODEL = CommonOptions.EMBEDDING_MODEL;

  public static final ConfigOption<String> DEVICE = CommonOptions.EMBEDDING_DEVICE;

  public static final ConfigOption<Integer> BATCH_SIZE =
      ConfigOptions.key("embedding.batch-size")
          .intType()
          .defaultValue(16)
          .withDescription("Most questions per model call.");

  public static final ConfigOption<Duration> BATCH_WAIT =
      ConfigOptions.key("embedding.batch-wait")
          .durationType()
          .defaultValue(Duration.ofMillis(5))
          .withDescription("Longest a question waits for its batch to fill.");

  public static final ConfigOption<Duration> BATCH_IDLE_GAP =
      ConfigOptions.key("embedding.batch-idle-gap")
          .durationType()
          .defaultValue(Duration.ZERO)
          .withDescription(
              "While questions arrive on average further apart than this, one that would start a"
                  + " batch is embedded at once: the wait would buy no company, only latency. 0"
                  + " (default): always wait. Measured in docs/benchmarks/streaming.md: 50 ms saved"
                  + " ~2 ms at 10 req/s and cost more than that at 40 req/s on a shared CPU.");

  public static final ConfigOption<String> OPENSEARCH_URL = CommonOptions.OPENSEARCH_URL;
  public static final ConfigOption<String> OPENSEARCH_USERNAME = CommonOptions.OPENSEARCH_USERNAME;
  public static final ConfigOption<String> OPENSEARCH_PASSWORD = CommonOptions.OPENSEARCH_PASSWORD;
  public static final ConfigOption<String> OPENSEARCH_CA_FILE = CommonOptions.OPENSEARCH_CA_FILE;

  public static final ConfigOption<String> INDEX =
      ConfigOptions.key("retrieval.index")
          .stringType()
          .defaultValue("rag-chunks")
          .withDescription("Index of chunks searched when a request names none.");

  public static final ConfigOption<String> INDEX_VERSION =
      ConfigOptions.key("retrieval.index-version")
          .stringType()
          .defaultValue("1")
          .withDescription(
              "Part of every RAG cache key: change it after re-indexing so old answers expire.");

  public static final ConfigOption<Integer> TOP_K =
      ConfigOptions.key("retrieval.top-k")
          .intType()
          .defaultValue(5)
          .withDescription("Passages per RAG request that names no topK.");

  public static final ConfigOption<Integer> MAX_TOP_K =
      ConfigOptions.key("retrieval.max-top-k")
          .intType()
          .defaultValue(50)
          .withDescription("Larger topK is REJECTED.");

  public static final ConfigOption<Integer> CANDIDATES =
      ConfigOptions.key("retrieval.candidates")
          .intType()
          .defaultValue(50)
          .withDescription("k-NN candidates per search (recall under the tenant filter).");

  public static final ConfigOption<Duration> RETRIEVAL_TIMEOUT =
      ConfigOptions.key("retrieval.timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(2))
          .withDescription("Longest a search may take; then it failed (see retrieval.on-failure).");

  /** What a RAG request does when its search fails. */
  public enum RetrievalFailure {
    /** Answered without context, marked degraded (and not cached). */
    DEGRADE,
    /** Ends as ERROR. */
    FAIL
  }

  public static final ConfigOption<RetrievalFailure> RETRIEVAL_ON_FAILURE =
      ConfigOptions.key("retrieval.on-failure")
          .enumType(RetrievalFailure.class)
          .defaultValue(RetrievalFailure.DEGRADE)
          .withDescription(
              "When the search fails (OpenSearch down, hung, or past retrieval.timeout): DEGRADE"
                  + " answers without context, marked in the response's degraded field and never"
                  + " cached; FAIL ends the request as ERROR. After most recent searches failed,"
                  + " searches are skipped for 5 s (retrieval.circuit_open) instead of each"
                  + " waiting out the timeout.");

  public static final ConfigOption<Integer> RETRIEVAL_CAPACITY =
      ConfigOptions.key("retrieval.capacity")
          .intType()
          .defaultValue(64)
          .withDescription("Most searches (and cache reads) in flight per task.");

  public static final ConfigOption<Boolean> AGENT_ENABLED =
      ConfigOptions.key("agent.enabled")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "Serve AGENT requests: the model answers over several steps, calling tools between"
                  + " them (built in: search_documents; and those of agent.mcp-servers). Off:"
                  + " AGENT requests are REJECTED with validation.unsupported_kind.");

  public static final ConfigOption<List<String>> AGENT_MCP_SERVERS =
      ConfigOptions.key("agent.mcp-servers")
          .stringType()
          .asList()
          .defaultValues()
          .withDescription(
              "MCP servers whose tools agents may call, as name=url (Streamable HTTP, e.g."
                  + " demo=http://127.0.0.1:8090/mcp), separated by ';'. Their tools are listed at"
                  + " start and again while a server is unreachable; two servers may not offer"
                  + " tools of the same name.");

  public static final ConfigOption<String> AGENT_TENANT_TOOLS =
      ConfigOptions.key("agent.tenant-tools")
          .stringType()
          .defaultValue("*=*")
          .withDescription(
              "Which tools each tenant's agents may call: tenant=tool|tool entries separated by"
                  + " ';', where '*' as tenant is every tenant without an entry of its own and '*'"
                  + " as tool is every tool (e.g. '*=search_documents;acme=*'). A tenant without an"
                  + " entry and no '*' entry may call none.");

  public static final ConfigOption<Integer> AGENT_MAX_STEPS =
      ConfigOptions.key("agent.max-steps")
          .intType()
          .defaultValue(8)
          .withDescription(
              "Most LLM calls one agent request may make; past it the request ends as ERROR"
                  + " agent.max_steps.");

  public static final ConfigOption<Integer> AGENT_MAX_TOOL_CALLS =
      ConfigOptions.key("agent.max-tool-calls")
          .intType()
          .defaultValue(16)
          .withDescription(
              "Most tool calls one agent request may make, over all its steps (ERROR"
                  + " agent.max_tool_calls past it).");

  public static final ConfigOption<Integer> AGENT_MAX_COMPLETION_TOKENS =
      ConfigOptions.key("agent.max-completion-tokens")
          .intType()
          .defaultValue(4096)
          .withDescription(
              "Most tokens the model may generate for one agent request, over all its steps"
                  + " (ERROR agent.token_budget past it).");

  public static final ConfigOption<Duration> AGENT_TOOL_TIMEOUT =
      ConfigOptions.key("agent.tool-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(10))
          .withDescription(
              "Longest one tool call may take (and never past the request's deadline); the model"
                  + " is then told the tool timed out (tool.timeout).");

  public static final ConfigOption<Integer> AGENT_MAX_TOOL_RESULT_CHARS =
      ConfigOptions.key("agent.max-tool-result-chars")
          .intType()
          .defaultValue(8_000)
          .withDescription(
              "A tool's answer is cut to this many characters before the model sees it"
                  + " (tool.result_too_large), so one tool cannot overflow the context window."
                  + " Characters, not tokens: text full of punctuation takes up to one token per"
                  + " 1.7 characters, so keep it under a quarter of the smallest window in"
                  + " characters.");

  public static final ConfigOption<Duration> AGENT_JOURNAL_TTL =
      ConfigOptions.key("agent.journal-ttl")
          .durationType()
          .defaultValue(Duration.ofHours(1))
          .withDescription(
              "How long each completed step (the model's answer, each tool's result) is kept in"
                  + " Redis (redis.url), so that a request replayed after a failover does not make"
                  + " them again. Must outlast a restart.");

  public static final ConfigOption<Duration> AGENT_JOURNAL_TIMEOUT =
      ConfigOptions.key("agent.journal-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(1))
          .withDescription(
              "Longest a journal read or write may take; past it the step goes on unjournaled"
                  + " (a failover would then repeat it, with the same idempotency keys). Generous"
                  + " on purpose: a healthy Redis answers in a millisecond, and the reads that"
                  + " matter come right after a restart, while the task is busiest.");

  public static final ConfigOption<Integer> AGENT_CAPACITY =
      ConfigOptions.key("agent.capacity")
          .intType()
          .defaultValue(64)
          .withDescription("Most agent requests in flight per task.");

  public static final ConfigOption<String> AGENT_SYSTEM_PROMPT =
      ConfigOptions.key("agent.system-prompt")
          .stringType()
          .defaultValue(
              "You answer questions. Call the tools you are given when they help, one step at a"
                  + " time, and answer briefly once you know.")
          .withDescription("The system message of agent requests (before the request's messages).");

  public static final ConfigOption<Double> QUOTA_REQUESTS_PER_SECOND =
      ConfigOptions.key("quota.requests-per-second")
          .doubleType()
          .defaultValue(0.0)
          .withDescription(
              "Requests per second each tenant may send (a token bucket of quota.burst), counted"
                  + " before the response cache, so cached answers count too; a request over it is"
                  + " REJECTED with quota.exceeded. 0: no rate limit. Per tenant over the whole"
                  + " job: each task admits its share (this / parallelism) of the requests it"
                  + " reads. quota.tenants sets other limits for named tenants.");

  public static final ConfigOption<Integer> QUOTA_BURST =
      ConfigOptions.key("quota.burst")
          .intType()
          .defaultValue(0)
          .withDescription(
              "Most requests a tenant may send at once after a quiet spell (the size of its token"
                  + " bucket, which refills at quota.requests-per-second). 0: one second's worth of"
                  + " the rate.");

  public static final ConfigOption<Integer> QUOTA_MAX_CONCURRENT =
      ConfigOptions.key("quota.max-concurrent")
          .intType()
          .defaultValue(0)
          .withDescription(
              "Requests of one tenant in the job at once, from admission until their response is"
                  + " produced (answers, cache hits, errors, timeouts and agent runs alike); one"
                  + " more is REJECTED with quota.exceeded. 0: no limit. Each task holds at most"
                  + " its share (this / parallelism, rounded up).");

  public static final ConfigOption<String> QUOTA_TENANTS =
      ConfigOptions.key("quota.tenants")
          .stringType()
          .defaultValue("")
          .withDescription(
              "Limits of named tenants, in place of the three above: tenant=requestsPerSecond:"
                  + "burst:maxConcurrent entries separated by ';', 0 meaning unlimited (e.g."
                  + " 'acme=50:100:20;guest=1:2:1'; 'vip=0:0:0' exempts vip). Checked at start."
                  + " Named tenants get their own label on the quota metrics, the others share"
                  + " '_other'.");

  public static final List<ConfigOption<?>> ALL =
      List.of(
          KAFKA_BOOTSTRAP,
          KAFKA_PROPERTIES_FILE,
          REQUESTS_TOPIC,
          RESPONSES_TOPIC,
          LATENCY_TOPIC,
          PIECES_TOPIC,
          DEAD_LETTER_TOPIC,
          CONSUMER_GROUP,
          TRANSACTIONAL_ID_PREFIX,
          BUFFER_TIMEOUT,
          CHECKPOINT_INTERVAL,
          CHECKPOINT_TIMEOUT,
          CHECKPOINT_TOLERABLE_FAILURES,
          TRANSACTION_TIMEOUT,
          RESPONSES_FORMAT,
          PIECES_ENABLED,
          PIECES_FORMAT,
          PIECES_REPLY_TOPICS,
          ISOLATED_TENANTS,
          PIECES_COALESCE_TOKENS,
          PIECES_COALESCE_WAIT,
          PIECES_LINGER,
          MAX_MESSAGE_BYTES,
          MAX_PROMPT_CHARS,
          DEFAULT_TIMEOUT,
          MAX_TIMEOUT,
          NEW_GROUP_LOOKBACK,
          CommonOptions.SCHEMA_REGISTRY_URL,
          CommonOptions.SCHEMA_REGISTRY_TIMEOUT,
          CommonOptions.SCHEMA_REGISTRY_AUTO_REGISTER,
          LLM_POOLS_FILE,
          LLM_PRICES_FILE,
          LLM_ENDPOINTS,
          LLM_MODELS,
          LLM_CONTEXT_WINDOW,
          LLM_DEFAULT_MAX_TOKENS,
          LLM_CHARS_PER_TOKEN,
          LLM_ROUTING,
          LLM_AFFINITY_LOAD_FACTOR,
          LLM_LOAD_POLL_INTERVAL,
          LLM_CAPACITY,
          LLM_MAX_ATTEMPTS,
          LLM_BACKOFF_BASE,
          LLM_BACKOFF_MAX,
          LLM_ATTEMPT_TIMEOUT,
          LLM_FIRST_TOKEN_TIMEOUT,
          LLM_IDLE_TIMEOUT,
          LLM_MAX_RETRY_AFTER,
          LLM_RETRY_BUDGET,
          LLM_CIRCUIT_BREAKER,
          LLM_BREAKER_OPEN_DURATION,
          LLM_API_KEY,
          LLM_IGNORE_EOS,
          SYSTEM_PROMPT,
          REDIS_URL,
          REDIS_USERNAME,
          REDIS_PASSWORD,
          REDIS_CA_FILE,
          CACHE_ENABLED,
          CACHE_TTL,
          EMBEDDING_CACHE_TTL,
          CACHE_TIMEOUT,
          CACHE_NONDETERMINISTIC,
          MODEL,
          DEVICE,
          BATCH_SIZE,
          BATCH_WAIT,
          BATCH_IDLE_GAP,
          OPENSEARCH_URL,
          OPENSEARCH_USERNAME,
          OPENSEARCH_PASSWORD,
          OPENSEARCH_CA_FILE,
          INDEX,
          RETRIEVAL_INDEXES,
          INDEX_VERSION,
          TOP_K,
          MAX_TOP_K,
          CANDIDATES,
          RETRIEVAL_TIMEOUT,
          RETRIEVAL_ON_FAILURE,
          RETRIEVAL_CAPACITY,
          AGENT_ENABLED,
          AGENT_MCP_SERVERS,
          AGENT_TENANT_TOOLS,
          AGENT_MAX_STEPS,
          AGENT_MAX_TOOL_CALLS,
          AGENT_MAX_COMPLETION_TOKENS,
          AGENT_TOOL_TIMEOUT,
          AGENT_MAX_TOOL_RESULT_CHARS,
          AGENT_JOURNAL_TTL,
          AGENT_JOURNAL_TIMEOUT,
          AGENT_CAPACITY,
          AGENT_SYSTEM_PROMPT,
          QUOTA_REQUESTS_PER_SECOND,
          QUOTA_BURST,
          QUOTA_MAX_CONCURRENT,
          QUOTA_TENANTS);
}
