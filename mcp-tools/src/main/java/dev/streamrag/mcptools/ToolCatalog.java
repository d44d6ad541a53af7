package dev.streamrag.mcptools;

import dev.streamrag.corpus.Entity;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpSchema.CallToolRequest;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import io.modelcontextprotocol.spec.McpSchema.Tool;
import io.modelcontextprotocol.spec.McpSchema.ToolAnnotations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's tools as MCP sees them: name, description written for a model, JSON Schema of the
 * input, and a handler. Every failure a caller can cause (an unknown name, a bad expression, a
 * handler bug) is a tool result with {@code isError: true} that says what went wrong, never a
 * protocol error: the model reads it and can try again in the same session.
 */
final class ToolCatalog {
  static final String LOOKUP_ENTITY = "lookup_entity";
  static final String COMPUTE = "compute";
  static final String LIST_ENTITIES = "list_entities";

  private static final Logger LOG = LoggerFactory.getLogger(ToolCatalog.class);

  private static final String TENANT_DESCRIPTION =
      "Optional tenant id (e.g. \"acme\"): when given, only that tenant's entities are visible."
          + " Advisory for now: the server does not yet check which tenant the caller is.";

  // Nothing these tools do changes anything, and they only see the corpus the server was given.
  static final ToolAnnotations READ_ONLY =
      ToolAnnotations.builder()
          .readOnlyHint(true)
          .destructiveHint(false)
          .idempotentHint(true)
          .openWorldHint(false)
          .build();

  private final EntityTools entities;
  private final McpJsonMapper json;

  private ToolCatalog(EntityTools entities, McpJsonMapper json) {
    this.entities = entities;
    this.json = json;
  }

  /** The tools over {@code entities}; {@code json} writes their JSON results. */
  static List<SyncToolSpecification> tools(EntityTools entities, McpJsonMapper json) {
    ToolCatalog catalog = new ToolCatalog(entities, json);
    return List.of(catalog.lookupEntity(), catalog.compute(), catalog.listEntities());
  }

  private SyncToolSpecification lookupEntity() {
    Tool tool =
        Tool.builder(
                LOOKUP_ENTITY,
                objectSchema(
                    Map.of(
                        "name",
                        stringProperty(
                            "The entity's name as the question gives it, e.g. \"the Oslen River\""
                                + " or \"Diodu Industries\". Case and a leading \"the\" do not"
                                + " matter.",
                            200),
                        "tenant",
                        stringProperty(TENANT_DESCRIPTION, 100)),
                    List.of("name")))
            .title("Look up an entity")
            .description(
                "Looks up one entity of the demo corpus (a river, company, scientist, space probe"
                    + " or city) by name and returns its facts as JSON: {\"name\", \"kind\","
                    + " \"tenant\", \"doc_id\", \"facts\": {attribute: value}}. Values are"
                    + " text as the source article states them, units included, e.g."
                    + " \"1234 km\", \"52000\", \"1903\". Call it once for each entity a question"
                    + " names before answering. An unknown name is an error that lists the"
                    + " closest known names.")
            .annotations(READ_ONLY)
            .build();
    return new SyncToolSpecification(tool, guarded(LOOKUP_ENTITY, this::callLookupEntity));
  }

  private CallToolResult callLookupEntity(Map<String, Object> arguments) {
    String name = text(arguments, "name");
    if (name == null || name.isBlank()) {
      return error("\"name\" is required: the name of the entity to look up.");
    }
    String tenant = text(arguments, "tenant");
    EntityTools.Lookup lookup = entities.lookup(name, tenant);
    if (lookup.isFound()) {
      return success(toJson(view(lookup.entity())));
    }
    StringBuilder message = new StringBuilder("Unknown entity \"").append(name.strip()).append('"');
    if (tenant != null && !tenant.isBlank()) {
      message.append(" for tenant \"").append(tenant.strip()).append('"');
    }
    message.append('.');
    if (lookup.closestNames().isEmpty()) {
      message.append(" No similar name is known; ").append(LIST_ENTITIES).append(" lists names.");
    } else {
      message
          .append(" Closest names: ")
          .append(
              lookup.closestNames().stream()
                  .map(n -> '"' + n + '"')
                  .collect(Collectors.joining(", ")))
          .append('.');
    }
    return error(message.toString());
  }

  /** The JSON a model reads: facts sorted by attribute, so the same entity reads the same. */
  private static Map<String, Object> view(Entity entity) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("name", entity.name());
    view.put("kind", entity.kind());
    view.put("tenant", entity.tenantId());
    view.put("doc_id", entity.docId());
    view.put("facts", new TreeMap<>(entity.attributes()));
    return view;
  }

  private SyncToolSpecification compute() {
    Tool tool =
        Tool.builder(
                COMPUTE,
                objectSchema(
                    Map.of(
                        "expression",
                        stringProperty(
                            "Arithmetic on plain numbers, e.g. \"1234 + 567\" or"
                                + " \"(90000 - 1234) / 2\".",
                            Arithmetic.MAX_LENGTH)),
                    List.of("expression")))
            .title("Compute")
            .description(
                "Evaluates an arithmetic expression exactly and returns the number as text."
                    + " Supports integers and decimals, + - * /, parentheses and unary minus."
                    + " Pass bare numbers: leave out units such as \"km\" and thousands"
                    + " separators. At most "
                    + Arithmetic.MAX_LENGTH
                    + " characters and "
                    + Arithmetic.MAX_DEPTH
                    + " levels of parentheses. Use it for every calculation instead of doing it"
                    + " yourself.")
            .annotations(READ_ONLY)
            .build();
    return new SyncToolSpecification(tool, guarded(COMPUTE, this::callCompute));
  }

  private CallToolResult callCompute(Map<String, Object> arguments) {
    String expression = text(arguments, "expression");
    Arithmetic.Evaluation evaluation = Arithmetic.evaluate(expression);
    if (!evaluation.isOk()) {
      return error("Cannot compute: " + evaluation.error() + ".");
    }
    return success(evaluation.text());
  }

  private SyncToolSpecification listEntities() {
    Map<String, Object> kind =
        new LinkedHashMap<>(stringProperty("Only entities of this kind.", 20));
    if (!entities.kinds().isEmpty()) {
      kind.put("enum", entities.kinds());
    }
    Tool tool =
        Tool.builder(
                LIST_ENTITIES,
                objectSchema(
                    Map.of("kind", kind, "tenant", stringProperty(TENANT_DESCRIPTION, 100)),
                    List.of()))
            .title("List entities")
            .description(
                "Lists the names of the demo corpus's entities, optionally only one kind, at most "
                    + EntityTools.MAX_LISTED
                    + ", as JSON: {\"names\": [...], \"total\": N, \"truncated\": true|false}."
                    + " Use it to find the exact name to pass to "
                    + LOOKUP_ENTITY
                    + ".")
            .annotations(READ_ONLY)
            .build();
    return new SyncToolSpecification(tool, guarded(LIST_ENTITIES, this::callListEntities));
  }

  private CallToolResult callListEntities(Map<String, Object> arguments) {
    EntityTools.Listing listing = entities.list(text(arguments, "kind"), text(arguments, "tenant"));
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("names", listing.names());
    view.put("total", listing.total());
    view.put("truncated", listing.isTruncated());
    return success(toJson(view));
  }

  /**
   * A handler that turns anything it throws into an error result: a bug in one tool must not end
   * the caller's session or reach the transport.
   */
  static BiFunction<McpSyncServerExchange, CallToolRequest, CallToolResult> guarded(
      String toolName, Function<Map<String, Object>, CallToolResult> handler) {
    return (exchange, request) -> {
      try {
        Map<String, Object> arguments = request.arguments();
        return handler.apply(arguments != null ? arguments : Map.of());
      } catch (RuntimeException e) {
        LOG.warn("Tool {} failed on {}", toolName, request.arguments(), e);
        return error("Tool " + toolName + " failed unexpectedly: " + e);
      }
    };
  }

  /** A string argument; a number or boolean a model sent instead is taken as its text. */
  static String text(Map<String, Object> arguments, String name) {
    Object value = arguments.get(name);
    return value == null ? null : value.toString();
  }

  private String toJson(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static CallToolResult success(String text) {
    return CallToolResult.builder().addTextContent(text).isError(false).build();
  }

  static CallToolResult error(String text) {
    return CallToolResult.builder().addTextContent(text).isError(true).build();
  }

  static Map<String, Object> objectSchema(Map<String, Object> properties, List<String> required) {
    Map<String, Object> schema = new LinkedHashMap<>();
    schema.put("type", "object");
    schema.put("properties", new TreeMap<>(properties));
    if (!required.isEmpty()) {
      schema.put("required", required);
    }
    // A misspelt argument is an error the model sees, not silently ignored.
    schema.put("additionalProperties", false);
    return schema;
  }

  static Map<String, Object> stringProperty(String description, int maxLength) {
    Map<String, Object> property = new LinkedHashMap<>();
    property.put("type", "string");
    property.put("description", description);
    property.put("maxLength", maxLength);
    return property;
  }
}
