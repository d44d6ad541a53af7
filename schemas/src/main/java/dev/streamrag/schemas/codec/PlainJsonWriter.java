package dev.streamrag.schemas.codec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;

/**
 * Writes a record as the plain JSON {@link PlainJsonReader} reads: unions by value, enums by
 * symbol, timestamps as epoch milliseconds, bytes as base64. Reading what this writes gives back an
 * equal record.
 */
final class PlainJsonWriter {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private PlainJsonWriter() {}

  static JsonNode write(Object datum, Schema schema, GenericData model) {
    if (datum == null) {
      return NODES.nullNode();
    }
    switch (schema.getType()) {
      case RECORD:
        IndexedRecord record = (IndexedRecord) datum;
        ObjectNode object = NODES.objectNode();
        for (Schema.Field field : schema.getFields()) {
          object.set(field.name(), write(record.get(field.pos()), field.schema(), model));
        }
        return object;
      case UNION:
        return write(datum, schema.getTypes().get(model.resolveUnion(schema, datum)), model);
      case ARRAY:
        ArrayNode array = NODES.arrayNode();
        for (Object item : (Collection<?>) datum) {
          array.add(write(item, schema.getElementType(), model));
        }
        return array;
      case MAP:
        ObjectNode map = NODES.objectNode();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) datum).entrySet()) {
          map.set(entry.getKey().toString(), write(entry.getValue(), schema.getValueType(), model));
        }
        return map;
      case ENUM:
      case STRING:
        return NODES.textNode(datum.toString());
      case INT:
        return NODES.numberNode((Integer) datum);
      case LONG:
        if (datum instanceof Instant) {
          return NODES.numberNode(((Instant) datum).toEpochMilli());
        }
        return NODES.numberNode((Long) datum);
      case FLOAT:
        return NODES.numberNode((Float) datum);
      case DOUBLE:
        return NODES.numberNode((Double) datum);
      case BOOLEAN:
        return NODES.booleanNode((Boolean) datum);
      case BYTES:
        ByteBuffer buffer = ((ByteBuffer) datum).duplicate();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
      case FIXED:
        return NODES.textNode(Base64.getEncoder().encodeToString(((GenericFixed) datum).bytes()));
      default:
        throw new IllegalArgumentException("unsupported schema type " + schema.getType());
    }
  }
}
