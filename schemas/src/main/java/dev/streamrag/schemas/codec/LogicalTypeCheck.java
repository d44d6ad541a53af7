package dev.streamrag.schemas.codec;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;

/**
 * Where a writer schema gives a field another logical type than the reader expects. Avro's
 * compatibility check looks at physical types only, so a writer's {@code timestamp-micros} read as
 * {@code timestamp-millis} "resolves" and turns 2023 into the year 55840; a decimal's scale shifts
 * its value the same way. Such a writer cannot be read, it can only be misread.
 */
final class LogicalTypeCheck {
  private LogicalTypeCheck() {}

  /** The first mismatch as {@code path: writer type vs reader type}, or null if none. */
  static String mismatch(Schema reader, Schema writer) {
    return check(reader, writer, "$", new IdentityHashMap<>());
  }

  private static String check(
      Schema reader, Schema writer, String path, Map<Schema, List<Schema>> seen) {
    if (writer.getType() == Schema.Type.UNION) {
      for (Schema branch : writer.getTypes()) {
        String found = check(reader, branch, path, seen);
        if (found != null) {
          return found;
        }
      }
      return null;
    }
    if (reader.getType() == Schema.Type.UNION) {
      Schema match = null;
      for (Schema branch : reader.getTypes()) {
        if (sameKind(branch, writer)) {
          match = branch;
          break;
        }
      }
      return match == null ? null : check(match, writer, path, seen);
    }
    if (!sameLogicalType(reader.getLogicalType(), writer.getLogicalType())) {
      return path + ": written as " + describe(writer) + ", read as " + describe(reader);
    }
    if (reader.getType() != writer.getType()) {
      return null;
    }
    switch (reader.getType()) {
      case RECORD:
        List<Schema> visited = seen.computeIfAbsent(reader, k -> new ArrayList<>());
        for (Schema done : visited) {
          if (done == writer) {
            return null; // a recursive schema: this pair is being checked already
          }
        }
        visited.add(writer);
        for (Schema.Field field : reader.getFields()) {
          Schema.Field written = writer.getField(field.name());
          for (String alias : field.aliases()) {
            if (written == null) {
              written = writer.getField(alias);
            }
          }
          if (written != null) {
            String found = check(field.schema(), written.schema(), path + "." + field.name(), seen);
            if (found != null) {
              return found;
            }
          }
        }
        return null;
      case ARRAY:
        return check(reader.getElementType(), writer.getElementType(), path + "[]", seen);
      case MAP:
        return check(reader.getValueType(), writer.getValueType(), path + "{}", seen);
      default:
        return null;
    }
  }

  private static boolean sameKind(Schema a, Schema b) {
    if (a.getType() != b.getType()) {
      return false;
    }
    return switch (a.getType()) {
      case RECORD, ENUM, FIXED -> a.getFullName().equals(b.getFullName());
      default -> true;
    };
  }

  private static boolean sameLogicalType(LogicalType a, LogicalType b) {
    if (a == null || b == null) {
      return a == b;
    }
    if (!a.getName().equals(b.getName())) {
      return false;
    }
    if (a instanceof LogicalTypes.Decimal da && b instanceof LogicalTypes.Decimal db) {
      return da.getPrecision() == db.getPrecision() && da.getScale() == db.getScale();
    }
    return true;
  }

  private static String describe(Schema schema) {
    LogicalType type = schema.getLogicalType();
    String physical = schema.getType().getName();
    if (type == null) {
      return physical;
    }
    if (type instanceof LogicalTypes.Decimal decimal) {
      return "decimal(" + decimal.getPrecision() + "," + decimal.getScale() + ")";
    }
    return Objects.toString(type.getName()) + " (" + physical + ")";
  }
}
