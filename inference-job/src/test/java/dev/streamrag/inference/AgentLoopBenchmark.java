package dev.streamrag.inference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamrag.corpus.DemoCorpus;
import dev.streamrag.corpus.MultiHopQuestion;
import dev.streamrag.jobs.config.JobConfig;
import dev.streamrag.mcptools.McpToolsServer;
import dev.streamrag.schemas.AgentStep;
import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.ResponseStatus;
import dev.streamrag.schemas.codec.RecordCodec;
import dev.streamrag.testsupport.KafkaServer;
import dev.streamrag.testsupport.LlmSimServer;
import dev.streamrag.testsupport.RedisServer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The agent loop's own cost on this machine: per step, everything that is neither the LLM call nor
 * the tool calls (journal reads and writes in Redis, argument checks, bookkeeping), at open-loop
 * rates of agent requests, alone and mixed with as many CHAT requests; with the multi-hop answers'
 * correctness, steps per request, tool and LLM time per step, and the end-to-end latency a client
 * sees (stamped when it reads the committed response, from the request's intended send time). Real
 * Kafka, Redis, llm-sim (qwen2.5-0.5b-l4 profile) and the demo MCP server; the job on a local
 * MiniCluster at parallelism 1, everything on this machine's cores.
 *
 * <pre>
 * ./mvnw -q -o install -DskipTests -pl inference-job -am
 * ./mvnw -q -pl inference-job test-compile exec:exec -Dexec.executable=java \
 *   -Dexec.args="-cp %classpath dev.streamrag.inference.AgentLoopBenchmark 20 5,10,20"
 * </pre>
 *
 * Arguments: seconds per rate (default 20), agent request rates per second (default 5,10,20), then
 * any job settings as {@code --key value}. The last rate of 10 (or the nearest) is also run mixed
 * with as many CHAT requests a second.
 */
public final class AgentLoopBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "qwen2.5-0.5b-l4";
  private static final long SEED = 42;
  private static final List<String> TENANTS = List.of("acme", "globex");

  private AgentLoopBenchmark() {}

  /** A response and when the client read it. */
  private record Received(InferenceResponse response, long receivedMillis) {}

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    String rateList = args.length > 1 ? args[1] : "5,10,20";
    Path dir = Files.createTempDirectory("agent-bench");
    List<MultiHopQuestion> questions =
        new ArrayList<>(DemoCorpus.generate(SEED, 200, TENANTS).multiHopQuestions());
    Collections.shuffle(questions, new java.util.Random(3));
    String nobody;
    try (ServerSocket socket = new ServerSocket(0)) {
      nobody = "http://127.0.0.1:" + socket.getLocalPort();
    }
    try (KafkaServer kafka = KafkaServer.start(dir);
        RedisServer redis = RedisServer.start(dir);
        LlmSimServer llm = LlmSimServer.start(dir, MODEL, MODEL, null);
        McpToolsServer tools =
            McpToolsServer.builder()
                .port(0)
                .corpusSeed(SEED)
                .corpusDocuments(200)
                .tenants(TENANTS)
                .start()) {
      String bootstrap = kafka.bootstrapServers();
      TestStack.createTopics(bootstrap, "requests", "responses", "latency", "dlq", "pieces");
      List<String> settings =
          new ArrayList<>(
              List.of(
                  "--kafka.bootstrap-servers",
                  bootstrap,
                  "--inference.requests-topic",
                  "requests",
                  "--inference.responses-topic",
                  "responses",
                  "--inference.latency-topic",
                  "latency",
                  "--inference.dead-letter-topic",
                  "dlq",
                  "--pieces.topic",
                  "pieces",
                  "--llm.endpoints",
                  llm.baseUrl(),
                  "--llm.models",
                  MODEL,
                  "--redis.url",
                  redis.uri(),
                  // Agents here call MCP tools only; retrieval is not measured.
                  "--opensearch.url",
                  nobody,
                  "--agent.mcp-servers",
                  "demo=" + tools.endpoint()));
      settings.addAll(extra(args));
      Configuration config =
          JobConfig.load(settings.toArray(String[]::new), Map.of(), InferenceOptions.ALL);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.setParallelism(1);
      env.enableCheckpointing(1_000);
      InferenceJob.buildOnKafka(env, config);
      JobClient job = env.executeAsync("agent-bench");
      StringBuilder report = new StringBuilder();
      report.append("settings: ").append(String.join(" ", extra(args))).append("\n\n");
      report.append(
          "| agent req/s | + CHAT req/s | answered/s | agents OK | correct | steps/request |"
              + " overhead/step p50 / p95 / p99 ms | tool/step p50 / p99 ms | LLM/step p50 / p99"
              + " ms | client e2e p50 / p99 ms | CHAT e2e p50 / p99 ms |\n"
              + "|---|---|---|---|---|---|---|---|---|---|---|\n");
      try (KafkaConsumer<byte[], byte[]> consumer =
              TestStack.fromEarliest(bootstrap, "responses", "read_committed");
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  Map.of("bootstrap.servers", bootstrap, "linger.ms", 0),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
        Map<String, Received> received = new HashMap<>();
        Map<String, MultiHopQuestion> asked = new HashMap<>();
        int[] counter = {0};
        run(producer, consumer, received, asked, questions, counter, 5, 0, 10, "warm");
        List<int[]> phases = new ArrayList<>();
        for (String rate : rateList.split(",")) {
          phases.add(new int[] {Integer.parseInt(rate.strip()), 0});
        }
        phases.add(new int[] {10, 10});
        for (int[] phase : phases) {
          String tag = "a" + phase[0] + "c" + phase[1];
          long start = System.nanoTime();
          List<Received> answers =
              run(
                  producer, consumer, received, asked, questions, counter, phase[0], phase[1],
                  seconds, tag);
          double elapsed = (System.nanoTime() - start) / 1e9;
          List<Received> agents =
              answers.stream().filter(r -> r.response().getKind() == RequestKind.AGENT).toList();
          List<Received> chats =
              answers.stream().filter(r -> r.response().getKind() == RequestKind.CHAT).toList();
          List<Received> ok =
              agents.stream().filter(r -> r.response().getStatus() == ResponseStatus.OK).toList();
          long correct =
              ok.stream()
                  .filter(
                      r ->
                          r.response()
                              .getText()
                              .contains(asked.get(r.response().getRequestId()).answer()))
                  .count();
          List<AgentStep> steps =
              ok.stream().flatMap(r -> r.response().getAgent().getSteps().stream()).toList();
          List<AgentStep> toolSteps =
              steps.stream().filter(s -> !s.getToolCalls().isEmpty()).toList();
          String line =
              String.format(
                  "| %d | %d | %.1f | %d/%d | %.0f%% | %.2f | %s | %s | %s | %s | %s |",
                  phase[0],
                  phase[1],
                  answers.size() / elapsed,
                  ok.size(),
                  agents.size(),
                  ok.isEmpty() ? 0.0 : 100.0 * correct / ok.size(),
                  ok.isEmpty() ? 0.0 : (double) steps.size() / ok.size(),
                  percentiles(steps, AgentStep::getOverheadMs, 50, 95, 99),
                  percentiles(toolSteps, AgentStep::getToolMs, 50, 99),
                  percentiles(steps, AgentStep::getLlmMs, 50, 99),
                  percentiles(agents, AgentLoopBenchmark::clientMillis, 50, 99),
                  percentiles(chats, AgentLoopBenchmark::clientMillis, 50, 99));
          System.out.println(line);
          report.append(line).append('\n');
        }
      } finally {
        job.cancel().get();
      }
      Path out = Path.of("target", "agent-loop.md");
      Files.writeString(out, report.toString());
      System.out.println("report: " + out.toAbsolutePath());
    }
  }

  private static double clientMillis(Received received) {
    return received.receivedMillis() - received.response().getCreatedAt().toEpochMilli();
  }

  /** Sends agent (and CHAT) requests open loop for {@code seconds}; waits for their answers. */
  private static List<Received> run(
      KafkaProducer<byte[], byte[]> producer,
      KafkaConsumer<byte[], byte[]> consumer,
      Map<String, Received> received,
      Map<String, MultiHopQuestion> asked,
      List<MultiHopQuestion> questions,
      int[] counter,
      int agentsPerSecond,
      int chatsPerSecond,
      int seconds,
      String tag)
      throws Exception {
    List<String> ids = new ArrayList<>();
    int perSecond = agentsPerSecond + chatsPerSecond;
    long intervalNanos = 1_000_000_000L / perSecond;
    long startNanos = System.nanoTime();
    long startMillis = System.currentTimeMillis();
    int total = perSecond * seconds;
    for (int i = 0; i < total; i++) {
      long due = startNanos + i * intervalNanos;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      }
      String id = tag + "-" + i;
      ids.add(id);
      ObjectNode request = JSON.createObjectNode();
      request.put("requestId", id);
      request.put("temperature", 0.0);
      request.put("createdAt", startMillis + i * intervalNanos / 1_000_000);
      boolean agent = (long) i * agentsPerSecond % perSecond < agentsPerSecond;
      if (agent) {
        MultiHopQuestion question = questions.get(counter[0]++ % questions.size());
        asked.put(id, question);
        request.put("kind", "AGENT");
        request.put("tenantId", question.tenantId());
        request.put("maxTokens", 64);
        request
            .putArray("messages")
            .addObject()
            .put("role", "user")
            .put("content", question.question());
        request.putArray("tools").add("lookup_entity").add("compute");
      } else {
        request.put("kind", "CHAT");
        request.put("tenantId", TENANTS.get(i % TENANTS.size()));
        request.put("maxTokens", 32);
        request
            .putArray("messages")
            .addObject()
            .put("role", "user")
            .put("content", "Tell me about stream " + id);
      }
      producer.send(
          new ProducerRecord<>("requests", request.toString().getBytes(StandardCharsets.UTF_8)));
      poll(consumer, received, Duration.ZERO);
    }
    producer.flush();
    long deadline = System.nanoTime() + Duration.ofSeconds(seconds + 120L).toNanos();
    while (!received.keySet().containsAll(ids)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(tag + ": not every request was answered in time");
      }
      poll(consumer, received, Duration.ofMillis(50));
    }
    return ids.stream().map(received::get).toList();
  }

  private static final RecordCodec<InferenceResponse> CODEC =
      RecordCodec.of(InferenceResponse.class);

  /** Reads what is there, stamping each response when this client got it. */
  private static void poll(
      KafkaConsumer<byte[], byte[]> consumer, Map<String, Received> received, Duration timeout) {
    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(timeout)) {
      long now = System.currentTimeMillis();
      InferenceResponse response = CODEC.decode(record.value()).value();
      received.putIfAbsent(response.getRequestId(), new Received(response, now));
    }
  }

  private static List<String> extra(String[] args) {
    return args.length > 2 ? List.of(args).subList(2, args.length) : List.of();
  }

  private static <T> String percentiles(List<T> values, Function<T, Double> value, int... ps) {
    List<Double> sorted = new ArrayList<>();
    for (T v : values) {
      Double d = value.apply(v);
      if (d != null) {
        sorted.add(d);
      }
    }
    Collections.sort(sorted);
    List<String> out = new ArrayList<>();
    for (int p : ps) {
      if (sorted.isEmpty()) {
        out.add("-");
        continue;
      }
      int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
      out.add(String.format("%.1f", sorted.get(Math.max(0, Math.min(index, sorted.size() - 1)))));
    }
    return String.join(" / ", out);
  }
}
