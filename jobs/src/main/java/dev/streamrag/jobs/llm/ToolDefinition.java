package dev.streamrag.jobs.llm;

import java.io.Serializable;
import java.util.Objects;

/**
 * A tool offered to the model: sent as an OpenAI {@code tools} entry of type function.
 *
 * @param parametersJson the arguments' JSON Schema, as JSON text (an object schema)
 */
public record ToolDefinition(String name, String description, String parametersJson)
    implements Serializable {
  public ToolDefinition {
    Objects.requireNonNull(name, "name");
    description = description == null ? "" : description;
    parametersJson =
        parametersJson == null || parametersJson.isBlank()
            ? "{\"type\":\"object\",\"properties\":{}}"
            : parametersJson;
  }
}
