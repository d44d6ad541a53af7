package dev.streamrag.schemas.codec;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamrag.schemas.ids.Identifiers;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;

/**
 * Reads a plain JSON value into Avro's generic representation, guided by the schema.
 *
 * <p>Avro's own JSON decoder expects Avro's JSON encoding, where a union value is wrapped in its
 * branch name ({@code {"string": "x"}}); no Python or Go producer writes that. This reader takes
 * the JSON people write instead: unions by value, enums in any case, timestamps as epoch
 * milliseconds or ISO-8601, field names or their aliases (snake_case), missing fields from their
 * defaults. Fields the schema does not know are ignored, so newer producers can add fields. Errors
 * name the JSON path ({@code $.messages[0].role}).
 */
final class PlainJsonReader {

  private PlainJsonReader() {}

  static Object read(JsonNode node, Schema schema) throws JsonConversionException {
    return read(node, schema, "$");
  }

  private static Object read(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    switch (schema.getType()) {
      case RECORD:
        return readRecord(node, schema, path);
      case UNION:
        return readUnion(node, schema, path);
      case ENUM:
        return readEnum(node, schema, path);
      case ARRAY:
        return readArray(node, schema, path);
      case MAP:
        return readMap(node, schema, path);
      case STRING:
        if (!node.isTextual()) {
          throw mismatch(path, "a string", node);
        }
        return wellFormed(node.textValue(), path);
      case INT:
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
          throw mismatch(path, "a 32-bit integer", node);
        }
        return node.intValue();
      case LONG:
        return readLong(node, schema, path);
      case FLOAT:
        if (!node.isNumber()) {
          throw mismatch(path, "a number", node);
        }
        return node.floatValue();
      case DOUBLE:
        if (!node.isNumber()) {
          throw mismatch(path, "a number", node);
        }
        return node.doubleValue();
      case BOOLEAN:
        if (!node.isBoolean()) {
          throw mismatch(path, "true or false", node);
        }
        return node.booleanValue();
      case BYTES:
        return ByteBuffer.wrap(readBase64(node, path));
      case FIXED:
        byte[] bytes = readBase64(node, path);
        if (bytes.length != schema.getFixedSize()) {
          throw new JsonConversionException(
              path, "expected " + schema.getFixedSize() + " bytes, got " + bytes.length);
        }
        return new GenericData.Fixed(schema, bytes);
      case NULL:
        if (!node.isNull()) {
          throw mismatch(path, "null", node);
        }
        return null;
      default:
        throw new JsonConversionException(path, "unsupported schema type " + schema.getType());
    }
  }

  private static GenericData.Record readRecord(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    if (!node.isObject()) {
      throw mismatch(path, "an object (" + schema.getName() + ")", node);
    }
    GenericData.Record record = new GenericData.Record(schema);
    for (Schema.Field field : schema.getFields()) {
      String fieldPath = path + "." + field.name();
      JsonNode value = fieldValue(node, field, fieldPath);
      boolean absent = value == null || value.isMissingNode();
      // An explicit null for a field that cannot hold null means "not set" (Python's None).
      boolean nullForNonNullable = value != null && value.isNull() && !acceptsNull(field.schema());
      if (absent || nullForNonNullable) {
        if (!field.hasDefaultValue()) {
          throw new JsonConversionException(
              fieldPath, absent ? "required field is missing" : "must not be null");
        }
        record.put(field.pos(), GenericData.get().getDefaultValue(field));
      } else {
        record.put(field.pos(), read(value, field.schema(), fieldPath));
      }
    }
    return record;
  }

  /** The field's value under its name or one of its aliases; two of them at once is ambiguous. */
  private static JsonNode fieldValue(JsonNode object, Schema.Field field, String path)
      throws JsonConversionException {
    JsonNode found = object.get(field.name());
    String foundUnder = field.name();
    for (String alias : field.aliases()) {
      JsonNode aliased = object.get(alias);
      if (aliased != null) {
        if (found != null) {
          throw new JsonConversionException(
              path, "given twice, as '" + foundUnder + "' and as '" + alias + "'");
        }
        found = aliased;
        foundUnder = alias;
      }
    }
    return found;
  }

  private static boolean acceptsNull(Schema schema) {
    if (schema.getType() == Schema.Type.NULL) {
      return true;
    }
    if (schema.getType() == Schema.Type.UNION) {
      for (Schema branch : schema.getTypes()) {
        if (branch.getType() == Schema.Type.NULL) {
          return true;
        }
      }
    }
    return false;
  }

  private static Object readUnion(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    if (node.isNull()) {
      if (acceptsNull(schema)) {
        return null;
      }
      throw mismatch(path, describe(schema), node);
    }
    for (Schema branch : schema.getTypes()) {
      if (branch.getType() == Schema.Type.NULL || !couldBe(node, branch)) {
        continue;
      }
      return read(node, branch, path);
    }
    throw mismatch(path, describe(schema), node);
  }

  /** Whether the JSON node's kind fits the branch; the first fitting branch of a union wins. */
  private static boolean couldBe(JsonNode node, Schema branch) {
    switch (branch.getType()) {
      case RECORD:
      case MAP:
        return node.isObject();
      case ARRAY:
        return node.isArray();
      case STRING:
      case ENUM:
      case BYTES:
      case FIXED:
        return node.isTextual();
      case INT:
      case LONG:
        return node.isIntegralNumber()
            || (node.isTextual()
                && branch.getLogicalType() instanceof LogicalTypes.TimestampMillis);
      case FLOAT:
      case DOUBLE:
        return node.isNumber();
      case BOOLEAN:
        return node.isBoolean();
      default:
        return false;
    }
  }

  private static String describe(Schema schema) {
    List<String> names = new ArrayList<>();
    for (Schema branch : schema.getTypes()) {
      names.add(branch.getType() == Schema.Type.NULL ? "null" : describeOne(branch));
    }
    return String.join(" or ", names);
  }

  private static String describeOne(Schema schema) {
    if (schema.getLogicalType() != null) {
      return schema.getLogicalType().getName();
    }
    switch (schema.getType()) {
      case RECORD:
        return "an object (" + schema.getName() + ")";
      case ENUM:
        return "one of " + schema.getEnumSymbols();
      default:
        return schema.getType().getName();
    }
  }

  private static Object readEnum(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    if (node.isTextual()) {
      String text = node.textValue();
      if (schema.hasEnumSymbol(text)) {
        return new GenericData.EnumSymbol(schema, text);
      }
      String upper = text.toUpperCase(Locale.ROOT);
      if (schema.hasEnumSymbol(upper)) {
        return new GenericData.EnumSymbol(schema, upper);
      }
    }
    throw mismatch(path, "one of " + schema.getEnumSymbols(), node);
  }

  private static List<Object> readArray(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    if (!node.isArray()) {
      throw mismatch(path, "an array", node);
    }
    List<Object> items = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      items.add(read(node.get(i), schema.getElementType(), path + "[" + i + "]"));
    }
    return items;
  }

  private static Map<String, Object> readMap(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    if (!node.isObject()) {
      throw mismatch(path, "an object (map)", node);
    }
    Map<String, Object> map = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> entries = node.fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> entry = entries.next();
      map.put(
          wellFormed(entry.getKey(), path),
          read(entry.getValue(), schema.getValueType(), path + "." + entry.getKey()));
    }
    return map;
  }

  /**
   * {@code text} if it is well-formed UTF-16. JSON escapes can spell a lone surrogate ({@code
   * "\\ud800"}), which UTF-8 cannot encode: Avro would write it as '?', so two different ids would
   * become one.
   */
  private static String wellFormed(String text, String path) throws JsonConversionException {
    int at = Identifiers.unpairedSurrogate(text);
    if (at >= 0) {
      throw new JsonConversionException(
          path,
          "contains an unpaired surrogate (\\u"
              + Integer.toHexString(text.charAt(at))
              + ") at "
              + at);
    }
    return text;
  }

  private static long readLong(JsonNode node, Schema schema, String path)
      throws JsonConversionException {
    boolean timestamp = schema.getLogicalType() instanceof LogicalTypes.TimestampMillis;
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      return node.longValue();
    }
    if (timestamp && node.isTextual()) {
      return parseTimestamp(node.textValue(), path);
    }
    throw mismatch(
        path, timestamp ? "epoch milliseconds or an ISO-8601 timestamp" : "a 64-bit integer", node);
  }

  private static long parseTimestamp(String text, String path) throws JsonConversionException {
    Instant instant;
    try {
      instant = Instant.parse(text);
    } catch (DateTimeParseException notAnInstant) {
      try {
        instant = OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException e) {
        throw new JsonConversionException(
            path,
            "expected an ISO-8601 timestamp with offset (e.g. 2026-01-31T12:00:00Z), got \""
                + abbreviate(text)
                + "\"");
      }
    }
    try {
      return instant.toEpochMilli(); // years beyond ±292 million do not fit in epoch millis
    } catch (ArithmeticException e) {
      throw new JsonConversionException(
          path, "timestamp out of range: \"" + abbreviate(text) + "\"");
    }
  }

  private static byte[] readBase64(JsonNode node, String path) throws JsonConversionException {
    if (!node.isTextual()) {
      throw mismatch(path, "a base64 string", node);
    }
    try {
      return Base64.getDecoder().decode(node.textValue());
    } catch (IllegalArgumentException e) {
      throw new JsonConversionException(path, "invalid base64: " + e.getMessage());
    }
  }

  private static JsonConversionException mismatch(String path, String expected, JsonNode actual) {
    return new JsonConversionException(
        path, "expected " + expected + ", got " + abbreviate(actual.toString()));
  }

  /** Error messages quote the bad value, but never a megabyte of it. */
  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }
}
