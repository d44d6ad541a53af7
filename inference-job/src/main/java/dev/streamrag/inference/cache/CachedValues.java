package dev.streamrag.inference.cache;

import dev.streamrag.schemas.InferenceResponse;
import dev.streamrag.schemas.codec.Decoded;
import dev.streamrag.schemas.codec.RecordCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * How cached values are stored in Redis: answers as Avro single-object encoded {@link
 * InferenceResponse}s (so a schema change is detected, not misread), query vectors as little-endian
 * float32.
 */
public final class CachedValues {
  private static final RecordCodec<InferenceResponse> RESPONSES =
      RecordCodec.of(InferenceResponse.class);

  private CachedValues() {}

  public static byte[] response(InferenceResponse response) {
    return RESPONSES.encode(response);
  }

  /** The cached answer, or null if the bytes are not one (then the entry is ignored). */
  public static InferenceResponse response(byte[] bytes) {
    Decoded<InferenceResponse> decoded = RESPONSES.decode(bytes);
    return decoded.isOk() ? decoded.value() : null;
  }

  public static byte[] vector(List<Float> vector) {
    ByteBuffer buffer =
        ByteBuffer.allocate(vector.size() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    vector.forEach(buffer::putFloat);
    return buffer.array();
  }

  /** The cached vector, or null if the bytes are not one. */
  public static List<Float> vector(byte[] bytes) {
    if (bytes.length == 0 || bytes.length % Float.BYTES != 0) {
      return null;
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    List<Float> vector = new ArrayList<>(bytes.length / Float.BYTES);
    while (buffer.hasRemaining()) {
      vector.add(buffer.getFloat());
    }
    return vector;
  }
}
