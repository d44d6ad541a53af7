package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * A CustomResourceDefinition's OpenAPI v3 schema as a JSON schema, strict about unknown fields. The
 * API server would silently drop a misspelt field (a structural schema prunes it); {@code kubectl
 * apply --validate=strict} refuses it, and so does this: every object schema that lists its
 * properties and does not preserve unknown fields gets {@code additionalProperties: false}.
 */
final class CrdSchema {
  private static final tools.jackson.databind.json.JsonMapper JACKSON3 =
      tools.jackson.databind.json.JsonMapper.shared();

  private final String crd;
  private final String version;
  private final Schema schema;

  private CrdSchema(String crd, String version, Schema schema) {
    this.crd = crd;
    this.version = version;
    this.schema = schema;
  }

  /** The CRD {@code resource} (a classpath path) at its served {@code version}. */
  static CrdSchema load(String resource, String version) {
    JsonNode crd;
    try (InputStream in = CrdSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is not on the classpath");
      }
      crd = Yaml.MAPPER.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (JsonNode served : crd.path("spec").path("versions")) {
      if (served.path("name").asText().equals(version)) {
        ObjectNode openApi = served.path("schema").path("openAPIV3Schema").deepCopy();
        // The API server adds these three to every custom resource's schema.
        ObjectNode properties = (ObjectNode) openApi.path("properties");
        properties.putObject("apiVersion").put("type", "string");
        properties.putObject("kind").put("type", "string");
        properties.putObject("metadata").put("type", "object");
        strict(openApi);
        Schema schema =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_4)
                .getSchema(openApi.toString(), InputFormat.JSON);
        return new CrdSchema(crd.path("metadata").path("name").asText(), version, schema);
      }
    }
    throw new IllegalArgumentException(resource + " serves no version " + version);
  }

  /** The schema violations of {@code resource}, as readable lines; empty when it is valid. */
  List<String> violations(JsonNode resource) {
    // The validator reads Jackson 3 trees (the version the MCP SDK needs, in the local stack's
    // JVM that DashboardQueriesIT starts); the resources here are Jackson 2's: handed over as text.
    return schema.validate(JACKSON3.readTree(resource.toString())).stream()
        .map(error -> error.getInstanceLocation() + ": " + error.getMessage())
        .sorted()
        .toList();
  }

  @Override
  public String toString() {
    return crd + "/" + version;
  }

  private static void strict(JsonNode node) {
    if (!(node instanceof ObjectNode object)) {
      return;
    }
    if (object.has("properties")
        && !object.has("additionalProperties")
        && !object.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)) {
      object.put("additionalProperties", false);
    }
    for (Map.Entry<String, JsonNode> property : iterable(object.path("properties"))) {
      strict(property.getValue());
    }
    strict(object.path("items"));
    strict(object.path("additionalProperties"));
    for (String combinator : List.of("allOf", "anyOf", "oneOf")) {
      for (JsonNode alternative : object.path(combinator)) {
        strict(alternative);
      }
    }
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
    return node::fields;
  }
}
