package dev.streamrag.deploycheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.fge.jsonpatch.JsonPatch;
import com.github.fge.jsonpatch.JsonPatchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Renders a kustomization the way {@code kubectl kustomize} does, for the subset our manifests use:
 * {@code resources} (files, or folders with their own kustomization), {@code components} (folders
 * whose kustomization is a {@code Component}: their resources are added and their patches applied
 * to everything rendered so far, before the including kustomization's own patches), {@code patches}
 * that are JSON 6902 patches with a {@code target} kind and optional name, and {@code
 * secretGenerator} entries of {@code literals} without a name hash ({@code generatorOptions:
 * disableNameSuffixHash: true}: with a hash, kustomize renames the Secret and rewrites references
 * to it only in the kinds it knows, never in a FlinkDeployment's pod template). Written here
 * because no kustomize runs on the JVM and the test must not download one; anything outside the
 * subset is refused, so the manifests cannot drift into features this renderer would get wrong.
 * JSON patches apply the same in both (RFC 6902, java-json-tools' implementation).
 */
final class Kustomize {
  private static final Set<String> SUPPORTED =
      Set.of(
          "apiVersion",
          "kind",
          "resources",
          "components",
          "patches",
          "secretGenerator",
          "generatorOptions");
  private static final Set<String> GENERATOR_FIELDS = Set.of("name", "literals", "type");
  private static final Set<String> GENERATOR_OPTIONS =
      Set.of("disableNameSuffixHash", "labels", "annotations");

  /** kustomize's base64 for generated data: lines of 70, each ended by a newline once it wraps. */
  private static final int BASE64_LINE = 70;

  private static final String COMPONENT = "Component";

  private Kustomize() {}

  static List<ObjectNode> render(Path dir) {
    List<ObjectNode> resources = new ArrayList<>();
    JsonNode kustomization = read(dir, false);
    addResources(dir, kustomization, resources);
    addGeneratedSecrets(dir, kustomization, resources);
    for (JsonNode entry : kustomization.path("components")) {
      Path componentDir = dir.resolve(entry.asText()).normalize();
      JsonNode component = read(componentDir, true);
      addResources(componentDir, component, resources);
      applyPatches(componentDir, component, resources);
    }
    applyPatches(dir, kustomization, resources);
    return resources;
  }

  private static JsonNode read(Path dir, boolean component) {
    Path file = dir.resolve("kustomization.yaml");
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no kustomization.yaml in " + dir);
    }
    JsonNode kustomization = Yaml.single(file);
    for (Iterator<String> it = kustomization.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!SUPPORTED.contains(field)) {
        throw new IllegalArgumentException(
            file + ": '" + field + "' is not supported by this renderer (only " + SUPPORTED + ")");
      }
    }
    if (component && kustomization.has("components")) {
      throw new IllegalArgumentException(
          file + ": components inside a component are not supported by this renderer");
    }
    if (component != kustomization.path("kind").asText().equals(COMPONENT)) {
      throw new IllegalArgumentException(
          file + (component ? " is listed as a component but is not" : " is a component"));
    }
    return kustomization;
  }

  private static void addResources(Path dir, JsonNode kustomization, List<ObjectNode> resources) {
    for (JsonNode entry : kustomization.path("resources")) {
      Path resource = dir.resolve(entry.asText()).normalize();
      if (Files.isDirectory(resource)) {
        resources.addAll(render(resource));
      } else {
        for (JsonNode document : Yaml.documents(resource)) {
          resources.add((ObjectNode) document);
        }
      }
    }
  }

  private static void addGeneratedSecrets(
      Path dir, JsonNode kustomization, List<ObjectNode> resources) {
    JsonNode generators = kustomization.path("secretGenerator");
    if (generators.isMissingNode()) {
      return;
    }
    Path file = dir.resolve("kustomization.yaml");
    JsonNode options = kustomization.path("generatorOptions");
    for (Iterator<String> it = options.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!GENERATOR_OPTIONS.contains(field)) {
        throw new IllegalArgumentException(
            file + ": generatorOptions." + field + " is not supported by this renderer");
      }
    }
    if (!options.path("disableNameSuffixHash").asBoolean(false)) {
      throw new IllegalArgumentException(
          file
              + ": secretGenerator needs generatorOptions.disableNameSuffixHash: true (kustomize"
              + " would not rename the references in custom resources)");
    }
    for (JsonNode generator : generators) {
      for (Iterator<String> it = generator.fieldNames(); it.hasNext(); ) {
        String field = it.next();
        if (!GENERATOR_FIELDS.contains(field)) {
          throw new IllegalArgumentException(
              file + ": secretGenerator." + field + " is not supported by this renderer");
        }
      }
      ObjectNode secret = Yaml.MAPPER.createObjectNode();
      secret.put("apiVersion", "v1");
      secret.put("kind", "Secret");
      ObjectNode metadata = secret.putObject("metadata");
      metadata.put("name", generator.path("name").asText());
      for (String meta : List.of("labels", "annotations")) {
        if (options.has(meta)) {
          metadata.set(meta, options.get(meta).deepCopy());
        }
      }
      secret.put("type", generator.path("type").asText("Opaque"));
      ObjectNode data = secret.putObject("data");
      for (JsonNode literal : generator.path("literals")) {
        String text = literal.asText();
        int equals = text.indexOf('=');
        if (equals <= 0) {
          throw new IllegalArgumentException(file + ": literal without key=value: " + text);
        }
        data.put(text.substring(0, equals), base64(text.substring(equals + 1)));
      }
      resources.add(secret);
    }
  }

  private static String base64(String value) {
    String encoded =
        java.util.Base64.getEncoder()
            .encodeToString(value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    if (encoded.length() < BASE64_LINE) {
      return encoded;
    }
    StringBuilder wrapped = new StringBuilder();
    for (int i = 0; i < encoded.length(); i += BASE64_LINE) {
      wrapped.append(encoded, i, Math.min(encoded.length(), i + BASE64_LINE)).append('\n');
    }
    return wrapped.toString();
  }

  private static void applyPatches(Path dir, JsonNode kustomization, List<ObjectNode> resources) {
    Path file = dir.resolve("kustomization.yaml");
    for (JsonNode patch : kustomization.path("patches")) {
      apply(file, patch, resources);
    }
  }

  private static void apply(Path file, JsonNode patch, List<ObjectNode> resources) {
    JsonNode target = patch.path("target");
    String kind = target.path("kind").asText(null);
    String name = target.path("name").asText(null);
    if (kind == null || !patch.has("path")) {
      throw new IllegalArgumentException(
          file + ": each patch needs a path and a target kind (JSON 6902 patches only)");
    }
    Path patchFile = file.getParent().resolve(patch.path("path").asText());
    JsonPatch operations;
    try {
      operations = JsonPatch.fromJson(Yaml.single(patchFile));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(patchFile + " is not a JSON 6902 patch: " + e, e);
    }
    int matched = 0;
    for (int i = 0; i < resources.size(); i++) {
      ObjectNode resource = resources.get(i);
      if (resource.path("kind").asText().equals(kind)
          && (name == null || resource.path("metadata").path("name").asText().equals(name))) {
        try {
          resources.set(i, (ObjectNode) operations.apply(resource));
        } catch (JsonPatchException e) {
          throw new IllegalArgumentException(
              patchFile
                  + " does not apply to "
                  + kind
                  + "/"
                  + resource.path("metadata").path("name").asText()
                  + ": "
                  + e.getMessage(),
              e);
        }
        matched++;
      }
    }
    if (matched == 0) {
      throw new IllegalArgumentException(
          file + ": patch " + patchFile.getFileName() + " matches no " + kind + " " + name);
    }
  }
}
