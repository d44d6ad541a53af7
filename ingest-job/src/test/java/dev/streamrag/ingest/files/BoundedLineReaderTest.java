package dev.streamrag.ingest.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BoundedLineReaderTest {

  /** {@code length} bytes of 'x', generated as read: nothing of the size is ever in memory. */
  private static InputStream xs(long length) {
    return new InputStream() {
      long left = length;

      @Override
      public int read() {
        return left-- > 0 ? 'x' : -1;
      }

      @Override
      public int read(byte[] buffer, int offset, int count) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(count, left);
        java.util.Arrays.fill(buffer, offset, offset + n, (byte) 'x');
        left -= n;
        return n;
      }
    };
  }

  private static InputStream bytes(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aLineOfAQuarterGigabyteIsSkippedInBoundedMemoryAndTheNextLineIsRead() throws Exception {
    long huge = 256L << 20;
    InputStream in =
        new SequenceInputStream(
            bytes("first\n"), new SequenceInputStream(xs(huge), bytes("\r\nlast\r\n")));
    try (BoundedLineReader reader = new BoundedLineReader(in, 1 << 20, 100)) {
      assertThat(new String(reader.next().bytes(), StandardCharsets.UTF_8)).isEqualTo("first");
      BoundedLineReader.Line big = reader.next();
      assertThat(big.tooLong()).isTrue();
      assertThat(big.length()).isEqualTo(huge + 1); // the '\r' of a too-long line is counted
      assertThat(big.bytes()).hasSize(100);
      BoundedLineReader.Line last = reader.next();
      assertThat(last.tooLong()).isFalse();
      assertThat(new String(last.bytes(), StandardCharsets.UTF_8)).isEqualTo("last");
      assertThat(reader.next()).isNull();
    }
  }

  @Test
  void linesUpToTheLimitAreWholeAndEmptyLinesAreLines() throws Exception {
    String exact = "y".repeat(70_000);
    try (BoundedLineReader reader =
        new BoundedLineReader(bytes(exact + "\n\n" + exact + "z"), 70_000, 10)) {
      assertThat(reader.next().bytes()).hasSize(70_000);
      assertThat(reader.next().bytes()).isEmpty();
      BoundedLineReader.Line over = reader.next();
      assertThat(over.tooLong()).isTrue();
      assertThat(over.length()).isEqualTo(70_001);
      assertThat(reader.next()).isNull();
    }
  }
}
