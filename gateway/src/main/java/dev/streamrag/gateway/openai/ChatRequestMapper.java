package dev.streamrag.gateway.openai;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.streamrag.gateway.GatewayConfig;
import dev.streamrag.schemas.CacheMode;
import dev.streamrag.schemas.ChatMessage;
import dev.streamrag.schemas.ChatRole;
import dev.streamrag.schemas.InferenceRequest;
import dev.streamrag.schemas.ReplyTo;
import dev.streamrag.schemas.RequestKind;
import dev.streamrag.schemas.RetrievalOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns the body of an OpenAI {@code POST /v1/chat/completions} into the {@link InferenceRequest}
 * the inference job reads, or into the 400/404 error the client gets instead. Every field the
 * gateway forwards is checked here, so a malformed request never reaches Kafka and the client
 * learns which field is wrong ({@code param}) at once.
 *
 * <p>Fields OpenAI defines that the platform has no use for (e.g. {@code frequency_penalty}) are
 * ignored, as vLLM does; fields that would change the answer or its shape but cannot be honoured
 * ({@code n} above 1, {@code tools}, {@code tool_choice}, {@code response_format} other than text,
 * {@code logprobs}, {@code top_logprobs}, {@code stream_options} without {@code stream}) are
 * refused, naming the field. The gateway's own extension object {@code streamrag} is strict: an
 * unknown field there is a typo, and refused; a retrieval index must be a plain name ({@link
 * IndexNames}) and, if the gateway has a list of indexes, one of them.
 */
public final class ChatRequestMapper {
  /** OpenAI's own bounds on {@code metadata}. */
  public static final int MAX_METADATA_ENTRIES = 16;

  public static final int MAX_METADATA_KEY_CHARS = 64;
  public static final int MAX_METADATA_VALUE_CHARS = 512;
  public static final int MAX_USER_CHARS = 256;
  public static final int MAX_STOP_SEQUENCES = 16;
  public static final int MAX_FILTERS = 16;

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();
  private static final Set<String> EXTENSION_FIELDS =
      Set.of("kind", "retrieval", "cache_mode", "timeout_ms");
  private static final Set<String> RETRIEVAL_FIELDS =
      Set.of("top_k", "index", "hybrid", "min_score", "filters");

  /**
   * The outcome of mapping one body: a request, or the error to answer with.
   *
   * @param request null when {@code error} is set
   */
  public record Mapping(ChatRequest request, ApiError error) {
    public boolean isOk() {
      return request != null;
    }
  }

  private final Set<String> models;
  private final Set<String> indexes;
  private final RequestKind defaultKind;
  private final long defaultTimeoutMillis;
  private final long maxTimeoutMillis;

  private ChatRequestMapper(Builder builder) {
    this.models = Set.copyOf(builder.models);
    this.indexes = Set.copyOf(builder.indexes);
    this.defaultKind = builder.defaultKind;
    this.defaultTimeoutMillis = builder.defaultTimeout.toMillis();
    this.maxTimeoutMillis = builder.maxTimeout.toMillis();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Maps {@code body} (UTF-8 JSON) of a request that arrived as {@code origin} says. */
  public Mapping map(String body, RequestOrigin origin) {
    Objects.requireNonNull(origin, "origin");
    try {
      return new Mapping(parse(body, origin), null);
    } catch (Invalid invalid) {
      return new Mapping(null, invalid.error);
    }
  }

  private ChatRequest parse(String body, RequestOrigin origin) throws Invalid {
    JsonNode root;
    try {
      root = body == null || body.isBlank() ? null : JSON.readTree(body);
    } catch (JacksonException e) {
      throw invalid(
          null,
          "We could not parse the JSON body of your request: " + firstLine(e.getOriginalMessage()));
    }
    if (root == null || !root.isObject()) {
      throw invalid(null, "The request body must be a JSON object.");
    }

    String model = text(root, "model", "model");
    if (model == null || model.isBlank()) {
      throw invalid("model", "Missing required parameter: 'model'.");
    }
    if (!models.isEmpty() && !models.contains(model)) {
      throw new Invalid(ApiError.modelNotFound(model));
    }
    Integer n = integer(root, "n", "n", 1, Integer.MAX_VALUE);
    if (n != null && n != 1) {
      throw invalid("n", "Only n=1 is supported: the platform produces one answer per request.");
    }
    for (String unsupported : List.of("tools", "functions")) {
      JsonNode value = root.get(unsupported);
      if (value != null && !value.isNull() && !(value.isArray() && value.isEmpty())) {
        throw invalid(unsupported, "'" + unsupported + "' is not supported by this gateway.");
      }
    }
    refuseUnhonourable(root);

    List<ChatMessage> messages = messages(root.get("messages"));
    Integer maxTokens = integer(root, "max_tokens", "max_tokens", 1, Integer.MAX_VALUE);
    Integer maxCompletionTokens =
        integer(root, "max_completion_tokens", "max_completion_tokens", 1, Integer.MAX_VALUE);
    Double temperature = number(root, "temperature", "temperature", 0, 2);
    Double topP = number(root, "top_p", "top_p", 0, 1);
    Long seed = longInteger(root, "seed", "seed");
    List<String> stop = stop(root.get("stop"));
    boolean stream = Boolean.TRUE.equals(bool(root, "stream", "stream"));
    boolean includeUsage = false;
    JsonNode streamOptions = root.get("stream_options");
    if (streamOptions != null && !streamOptions.isNull()) {
      if (!streamOptions.isObject()) {
        throw invalid("stream_options", "'stream_options' must be an object.");
      }
      if (!stream) {
        throw invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
      }
      includeUsage =
          Boolean.TRUE.equals(bool(streamOptions, "include_usage", "stream_options.include_usage"));
    }

    Map<String, String> attributes =
        stringMap(
            root.get("metadata"),
            "metadata",
            MAX_METADATA_ENTRIES,
            MAX_METADATA_KEY_CHARS,
            MAX_METADATA_VALUE_CHARS);
    String user = text(root, "user", "user");
    if (user != null) {
      if (user.length() > MAX_USER_CHARS) {
        throw invalid("user", "'user' is longer than " + MAX_USER_CHARS + " characters.");
      }
      attributes.put("user", user);
    }

    RequestKind kind = defaultKind;
    RetrievalOptions retrieval = null;
    CacheMode cacheMode = CacheMode.DEFAULT;
    long timeoutMillis = defaultTimeoutMillis;
    JsonNode extension = root.get("streamrag");
    if (extension != null && !extension.isNull()) {
      if (!extension.isObject()) {
        throw invalid("streamrag", "'streamrag' must be an object.");
      }
      rejectUnknownFields(extension, EXTENSION_FIELDS, "streamrag");
      String kindName = text(extension, "kind", "streamrag.kind");
      if (kindName != null) {
        kind = kind(kindName);
      }
      retrieval = retrieval(extension.get("retrieval"));
      String cacheName = text(extension, "cache_mode", "streamrag.cache_mode");
      if (cacheName != null) {
        cacheMode = cacheMode(cacheName);
      }
      Long timeout = longInteger(extension, "timeout_ms", "streamrag.timeout_ms");
      if (timeout != null) {
        if (timeout < 1 || timeout > maxTimeoutMillis) {
          throw invalid(
              "streamrag.timeout_ms",
              "'streamrag.timeout_ms' must be between 1 and " + maxTimeoutMillis + ".");
        }
        timeoutMillis = timeout;
      }
    }

    Instant createdAt = Instant.ofEpochMilli(origin.receivedAtMillis());
    InferenceRequest request =
        InferenceRequest.newBuilder()
            .setRequestId(origin.requestId())
            .setTenantId(origin.tenantId())
            .setKind(kind)
            .setModel(model)
            .setMessages(messages)
            .setPrompt(null)
            .setMaxTokens(maxCompletionTokens != null ? maxCompletionTokens : maxTokens)
            .setTemperature(temperature)
            .setTopP(topP)
            .setSeed(seed)
            .setStop(stop)
            .setRetrieval(retrieval)
            .setCacheMode(cacheMode)
            .setCreatedAt(createdAt)
            .setDeadline(createdAt.plusMillis(timeoutMillis))
            .setTraceId(origin.traceId())
            .setAttributes(attributes)
            .setReplyTo(
                ReplyTo.newBuilder()
                    .setTopic(origin.replyTopic())
                    .setPartition(origin.replyPartition())
                    .build())
            .build();
    return new ChatRequest(request, model, stream, includeUsage, timeoutMillis);
  }

  /** Refuses OpenAI fields that would change the answer's content or shape in ways not served. */
  private static void refuseUnhonourable(JsonNode root) throws Invalid {
    JsonNode toolChoice = root.get("tool_choice");
    if (toolChoice != null
        && !toolChoice.isNull()
        && !(toolChoice.isTextual() && toolChoice.textValue().equals("none"))) {
      throw invalid("tool_choice", "'tool_choice' is not supported by this gateway (no tools).");
    }
    JsonNode responseFormat = root.get("response_format");
    if (responseFormat != null && !responseFormat.isNull()) {
      JsonNode type = responseFormat.isObject() ? responseFormat.get("type") : null;
      if (type == null
          || !type.isTextual()
          || !type.textValue().equals("text")
          || responseFormat.size() != 1) {
        throw invalid(
            "response_format",
            "Only 'response_format' {\"type\": \"text\"} is supported: this gateway cannot"
                + " enforce JSON output.");
      }
    }
    JsonNode logprobs = root.get("logprobs");
    if (logprobs != null
        && !logprobs.isNull()
        && !(logprobs.isBoolean() && !logprobs.booleanValue())) {
      throw invalid("logprobs", "'logprobs' is not supported by this gateway.");
    }
    JsonNode topLogprobs = root.get("top_logprobs");
    if (topLogprobs != null
        && !topLogprobs.isNull()
        && !(topLogprobs.isIntegralNumber() && topLogprobs.longValue() == 0)) {
      throw invalid("top_logprobs", "'top_logprobs' is not supported by this gateway.");
    }
  }

  private static List<ChatMessage> messages(JsonNode node) throws Invalid {
    if (node == null || node.isNull()) {
      throw invalid("messages", "Missing required parameter: 'messages'.");
    }
    if (!node.isArray()) {
      throw invalid("messages", "'messages' must be an array.");
    }
    if (node.isEmpty()) {
      throw invalid("messages", "'messages' must contain at least one message.");
    }
    List<ChatMessage> messages = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      String path = "messages[" + i + "]";
      JsonNode message = node.get(i);
      if (!message.isObject()) {
        throw invalid(path, "'" + path + "' must be an object.");
      }
      String roleName = text(message, "role", path + ".role");
      if (roleName == null) {
        throw invalid(path + ".role", "Missing required parameter: '" + path + ".role'.");
      }
      ChatRole role = role(roleName, path + ".role");
      JsonNode toolCalls = message.get("tool_calls");
      if (toolCalls != null
          && !toolCalls.isNull()
          && !(toolCalls.isArray() && toolCalls.isEmpty())) {
        throw invalid(path + ".tool_calls", "Tool calls are not supported by this gateway.");
      }
      messages.add(
          ChatMessage.newBuilder()
              .setRole(role)
              .setContent(content(message.get("content"), path + ".content"))
              .setName(text(message, "name", path + ".name"))
              .setToolCallId(text(message, "tool_call_id", path + ".tool_call_id"))
              .build());
    }
    return messages;
  }

  private static ChatRole role(String name, String path) throws Invalid {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "system", "developer" -> ChatRole.SYSTEM; // "developer" is the newer name for system
      case "user" -> ChatRole.USER;
      case "assistant" -> ChatRole.ASSISTANT;
      case "tool" -> ChatRole.TOOL;
      default ->
          throw invalid(
              path,
              "Invalid value for '"
                  + path
                  + "': '"
                  + name
                  + "'; expected one of system, developer, user, assistant, tool.");
    };
  }

  /** A string, or an array of {@code {type: text, text}} parts joined by newlines. */
  private static String content(JsonNode node, String path) throws Invalid {
    if (node == null || node.isNull()) {
      throw invalid(path, "Missing required parameter: '" + path + "'.");
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (!node.isArray()) {
      throw invalid(path, "'" + path + "' must be a string or an array of text parts.");
    }
    StringBuilder text = new StringBuilder();
    for (int j = 0; j < node.size(); j++) {
      String partPath = path + "[" + j + "]";
      JsonNode part = node.get(j);
      if (!part.isObject()) {
        throw invalid(partPath, "'" + partPath + "' must be an object.");
      }
      String type = text(part, "type", partPath + ".type");
      if (!"text".equals(type)) {
        throw invalid(
            partPath + ".type",
            "Content part type '" + type + "' is not supported: only 'text' parts are.");
      }
      String partText = text(part, "text", partPath + ".text");
      if (partText == null) {
        throw invalid(partPath + ".text", "Missing required parameter: '" + partPath + ".text'.");
      }
      if (j > 0) {
        text.append('\n');
      }
      text.append(partText);
    }
    return text.toString();
  }

  private static List<String> stop(JsonNode node) throws Invalid {
    List<String> stop = new ArrayList<>();
    if (node == null || node.isNull()) {
      return stop;
    }
    if (node.isTextual()) {
      stop.add(node.textValue());
      return stop;
    }
    if (!node.isArray()) {
      throw invalid("stop", "'stop' must be a string or an array of strings.");
    }
    if (node.size() > MAX_STOP_SEQUENCES) {
      throw invalid("stop", "'stop' holds more than " + MAX_STOP_SEQUENCES + " sequences.");
    }
    for (int i = 0; i < node.size(); i++) {
      if (!node.get(i).isTextual()) {
        throw invalid("stop", "'stop[" + i + "]' must be a string.");
      }
      stop.add(node.get(i).textValue());
    }
    return stop;
  }

  private RetrievalOptions retrieval(JsonNode node) throws Invalid {
    if (node == null || node.isNull()) {
      return null;
    }
    String path = "streamrag.retrieval";
    if (!node.isObject()) {
      throw invalid(path, "'" + path + "' must be an object.");
    }
    rejectUnknownFields(node, RETRIEVAL_FIELDS, path);
    RetrievalOptions.Builder options = RetrievalOptions.newBuilder();
    Integer topK = integer(node, "top_k", path + ".top_k", 1, Integer.MAX_VALUE);
    if (topK != null) {
      options.setTopK(topK);
    }
    options.setIndex(index(text(node, "index", path + ".index"), path + ".index"));
    Boolean hybrid = bool(node, "hybrid", path + ".hybrid");
    if (hybrid != null) {
      options.setHybrid(hybrid);
    }
    options.setMinScore(
        number(node, "min_score", path + ".min_score", -Double.MAX_VALUE, Double.MAX_VALUE));
    options.setFilters(
        stringMap(
            node.get("filters"),
            path + ".filters",
            MAX_FILTERS,
            MAX_METADATA_KEY_CHARS,
            MAX_METADATA_VALUE_CHARS));
    return options.build();
  }

  /** {@code name} if it is a plain index name this gateway lets requests name (null passes). */
  private String index(String name, String path) throws Invalid {
    if (name == null) {
      return null;
    }
    String problem = IndexNames.problem(name);
    if (problem != null) {
      throw invalid(path, "Invalid '" + path + "': " + problem + ".");
    }
    if (!indexes.isEmpty() && !indexes.contains(name)) {
      throw invalid(
          path,
          "Invalid '"
              + path
              + "': '"
              + name
              + "' is not an index of this gateway; known: "
              + String.join(", ", new TreeSet<>(indexes))
              + ".");
    }
    return name;
  }

  private static RequestKind kind(String name) throws Invalid {
    return switch (name.toUpperCase(Locale.ROOT)) {
      case "RAG" -> RequestKind.RAG;
      case "CHAT" -> RequestKind.CHAT;
      default ->
          throw invalid(
              "streamrag.kind",
              "Invalid value for 'streamrag.kind': '" + name + "'; expected RAG or CHAT.");
    };
  }

  private static CacheMode cacheMode(String name) throws Invalid {
    try {
      return CacheMode.valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw invalid(
          "streamrag.cache_mode",
          "Invalid value for 'streamrag.cache_mode': '"
              + name
              + "'; expected DEFAULT, BYPASS or REFRESH.");
    }
  }

  private static void rejectUnknownFields(JsonNode node, Set<String> known, String path)
      throws Invalid {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!known.contains(name)) {
        throw invalid(
            path + "." + name,
            "Unknown field '"
                + path
                + "."
                + name
                + "'; known fields: "
                + String.join(", ", new TreeSet<>(known))
                + ".");
      }
    }
  }

  /** A string-to-string object with at most {@code maxEntries} bounded entries; never null. */
  private static Map<String, String> stringMap(
      JsonNode node, String path, int maxEntries, int maxKeyChars, int maxValueChars)
      throws Invalid {
    Map<String, String> map = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return map;
    }
    if (!node.isObject()) {
      throw invalid(path, "'" + path + "' must be an object of string values.");
    }
    if (node.size() > maxEntries) {
      throw invalid(path, "'" + path + "' holds more than " + maxEntries + " entries.");
    }
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String key = field.getKey();
      if (key.length() > maxKeyChars) {
        throw invalid(
            path, "A key of '" + path + "' is longer than " + maxKeyChars + " characters.");
      }
      if (!field.getValue().isTextual()) {
        throw invalid(path + "." + key, "'" + path + "." + key + "' must be a string.");
      }
      String value = field.getValue().textValue();
      if (value.length() > maxValueChars) {
        throw invalid(
            path + "." + key,
            "'" + path + "." + key + "' is longer than " + maxValueChars + " characters.");
      }
      map.put(key, value);
    }
    return map;
  }

  private static String text(JsonNode node, String field, String path) throws Invalid {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw wrongType(path, "a string", value);
    }
    return value.textValue();
  }

  private static Boolean bool(JsonNode node, String field, String path) throws Invalid {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isBoolean()) {
      throw wrongType(path, "a boolean", value);
    }
    return value.booleanValue();
  }

  private static Integer integer(JsonNode node, String field, String path, int min, int max)
      throws Invalid {
    Long value = longInteger(node, field, path);
    if (value == null) {
      return null;
    }
    if (value < min || value > max) {
      throw invalid(
          path,
          "Invalid '"
              + path
              + "': "
              + value
              + " is "
              + (value < min ? "below the minimum of " + min : "above the maximum of " + max)
              + ".");
    }
    return value.intValue();
  }

  private static Long longInteger(JsonNode node, String field, String path) throws Invalid {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw wrongType(path, "an integer", value);
    }
    return value.longValue();
  }

  private static Double number(JsonNode node, String field, String path, double min, double max)
      throws Invalid {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isNumber()) {
      throw wrongType(path, "a number", value);
    }
    double number = value.doubleValue();
    if (!Double.isFinite(number) || number < min || number > max) {
      throw invalid(
          path,
          "Invalid '" + path + "': " + value + " is not between " + min + " and " + max + ".");
    }
    return number;
  }

  private static Invalid wrongType(String path, String expected, JsonNode got) {
    String actual = got.getNodeType().name().toLowerCase(Locale.ROOT);
    return invalid(
        path,
        "Invalid type for '" + path + "': expected " + expected + ", but got " + actual + ".");
  }

  private static Invalid invalid(String param, String message) {
    return new Invalid(ApiError.invalidRequest(param, message));
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  /** Carries the error out of the nested parsing; never escapes {@link #map}. */
  private static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient ApiError error;

    Invalid(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }

  /** Settings of a {@link ChatRequestMapper}; {@link #build()} checks them. */
  public static final class Builder {
    private Set<String> models = new LinkedHashSet<>();
    private Set<String> indexes = new LinkedHashSet<>();
    private RequestKind defaultKind = GatewayConfig.DEFAULT_KIND;
    private Duration defaultTimeout = GatewayConfig.DEFAULT_TIMEOUT;
    private Duration maxTimeout = GatewayConfig.DEFAULT_MAX_TIMEOUT;

    private Builder() {}

    /** The models the inference job serves; others get 404. Empty: any model is forwarded. */
    public Builder models(List<String> models) {
      this.models = new LinkedHashSet<>(Objects.requireNonNull(models, "models"));
      return this;
    }

    /**
     * The retrieval indexes a request may name; empty allows any plain name ({@link IndexNames}).
     */
    public Builder indexes(List<String> indexes) {
      this.indexes = new LinkedHashSet<>(Objects.requireNonNull(indexes, "indexes"));
      return this;
    }

    /** The kind of requests whose {@code streamrag.kind} is not given. */
    public Builder defaultKind(RequestKind defaultKind) {
      this.defaultKind = Objects.requireNonNull(defaultKind, "defaultKind");
      return this;
    }

    public Builder defaultTimeout(Duration defaultTimeout) {
      this.defaultTimeout = Objects.requireNonNull(defaultTimeout, "defaultTimeout");
      return this;
    }

    /** The longest {@code streamrag.timeout_ms} a client may ask for. */
    public Builder maxTimeout(Duration maxTimeout) {
      this.maxTimeout = Objects.requireNonNull(maxTimeout, "maxTimeout");
      return this;
    }

    public ChatRequestMapper build() {
      if (defaultKind == RequestKind.AGENT) {
        throw new IllegalArgumentException("defaultKind must be CHAT or RAG, got AGENT");
      }
      if (defaultTimeout.toMillis() < 1) {
        throw new IllegalArgumentException("defaultTimeout must be positive: " + defaultTimeout);
      }
      if (maxTimeout.compareTo(defaultTimeout) < 0) {
        throw new IllegalArgumentException(
            "maxTimeout ("
                + maxTimeout
                + ") is shorter than defaultTimeout ("
                + defaultTimeout
                + ")");
      }
      for (String model : models) {
        if (model == null || model.isBlank()) {
          throw new IllegalArgumentException("a model name is blank: " + models);
        }
      }
      for (String index : indexes) {
        String problem = IndexNames.problem(index);
        if (problem != null) {
          throw new IllegalArgumentException(problem);
        }
      }
      return new ChatRequestMapper(this);
    }
  }
}
