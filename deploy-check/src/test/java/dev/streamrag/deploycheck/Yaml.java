package dev.streamrag.deploycheck;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads YAML files, including multi-document ones, as Jackson trees. */
final class Yaml {
  static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper JSON = new ObjectMapper();

  private Yaml() {}

  /** Every document in {@code file}, empty ones skipped. */
  static List<JsonNode> documents(Path file) {
    try (JsonParser parser = MAPPER.getFactory().createParser(file.toFile())) {
      return documents(parser);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file, e);
    }
  }

  /** Every document in {@code text} (a tool's output, say), empty ones skipped. */
  static List<JsonNode> documents(String text) {
    try (JsonParser parser = MAPPER.getFactory().createParser(text)) {
      return documents(parser);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse YAML: " + e.getMessage(), e);
    }
  }

  private static List<JsonNode> documents(JsonParser parser) throws IOException {
    List<JsonNode> documents = new ArrayList<>();
    var values = MAPPER.readValues(parser, JsonNode.class);
    while (values.hasNextValue()) {
      JsonNode document = values.nextValue();
      if (document != null && !document.isNull() && !document.isMissingNode()) {
        documents.add(document);
      }
    }
    return documents;
  }

  static JsonNode single(Path file) {
    List<JsonNode> documents = documents(file);
    if (documents.size() != 1) {
      throw new IllegalArgumentException(file + " holds " + documents.size() + " documents, not 1");
    }
    return documents.get(0);
  }
}
