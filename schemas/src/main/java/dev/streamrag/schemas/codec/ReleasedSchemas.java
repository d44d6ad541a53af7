package dev.streamrag.schemas.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * The contracts as they were released, shipped in this jar under {@code
 * streamrag/schemas/released/vN/}. Every {@link RecordCodec} reads messages written with any of
 * them, so a producer still on an older release is not dead-lettered after a field is added (its
 * single-object fingerprint differs from the current schema's). Readers must be upgraded before
 * writers: an older codec cannot know a newer fingerprint.
 */
public final class ReleasedSchemas {
  private ReleasedSchemas() {}

  /** Released versions, oldest first. Add a version here when a changed contract ships. */
  public static final List<String> VERSIONS = List.of("v1");

  /** Files of a release, in the order their named types must be parsed. */
  private static final List<String> FILES =
      List.of(
          "common/RequestKind.avsc",
          "common/ResponseStatus.avsc",
          "common/CacheHitKind.avsc",
          "common/StageTimings.avsc",
          "InferenceRequest.avsc",
          "InferenceResponse.avsc",
          "LatencyRecord.avsc",
          "Document.avsc",
          "DeadLetter.avsc");

  private static final Map<String, Map<String, Schema>> BY_VERSION = load();

  /** The records of {@code version} by full name (e.g. {@code dev.streamrag.schemas.Document}). */
  public static Map<String, Schema> of(String version) {
    Map<String, Schema> schemas = BY_VERSION.get(version);
    if (schemas == null) {
      throw new IllegalArgumentException("no released version " + version + "; known " + VERSIONS);
    }
    return schemas;
  }

  /** Every released version of the record named {@code fullName}, oldest first. */
  public static List<Schema> versionsOf(String fullName) {
    List<Schema> versions = new ArrayList<>();
    for (String version : VERSIONS) {
      Schema schema = BY_VERSION.get(version).get(fullName);
      if (schema != null) {
        versions.add(schema);
      }
    }
    return versions;
  }

  private static Map<String, Map<String, Schema>> load() {
    Map<String, Map<String, Schema>> all = new LinkedHashMap<>();
    for (String version : VERSIONS) {
      Schema.Parser parser = new Schema.Parser();
      Map<String, Schema> byName = new LinkedHashMap<>();
      for (String file : FILES) {
        String resource = "/streamrag/schemas/released/" + version + "/" + file;
        try (InputStream in = ReleasedSchemas.class.getResourceAsStream(resource)) {
          if (in == null) {
            throw new IllegalStateException(resource + " is missing from the schemas jar");
          }
          Schema schema = parser.parse(in);
          if (schema.getType() == Schema.Type.RECORD) {
            byName.put(schema.getFullName(), schema);
          }
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + resource, e);
        }
      }
      all.put(version, Collections.unmodifiableMap(byName));
    }
    return Collections.unmodifiableMap(all);
  }
}
