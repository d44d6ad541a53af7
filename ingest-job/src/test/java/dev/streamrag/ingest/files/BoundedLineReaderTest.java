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
      assertThat(big.length()).isEqualTo(huge); // the '\r' of CRLF is not part of the line
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

  @Test
  void aCrlfLineOfExactlyTheLimitIsWithinItAndItsLengthLeavesOutTheCr() throws Exception {
    String exact = "y".repeat(100);
    try (BoundedLineReader reader =
        new BoundedLineReader(bytes(exact + "\r\n" + exact + "z\r\n" + exact + "\r"), 100, 10)) {
      BoundedLineReader.Line crlf = reader.next();
      assertThat(crlf.tooLong()).isFalse();
      assertThat(crlf.length()).isEqualTo(100);
      assertThat(new String(crlf.bytes(), StandardCharsets.UTF_8)).isEqualTo(exact);
      BoundedLineReader.Line over = reader.next();
      assertThat(over.tooLong()).isTrue();
      assertThat(over.length()).isEqualTo(101);
      assertThat(over.bytes()).hasSize(10);
      assertThat(reader.next().bytes()).hasSize(100); // a last line ending in '\r' at the end
      assertThat(reader.next()).isNull();
    }
  }

  @Test
  void aByteOrderMarkAtTheStartIsSkippedAndNowhereElse() throws Exception {
    String bom = "\uFEFF";
    try (BoundedLineReader reader =
        new BoundedLineReader(bytes(bom + "{\"a\":1}\n" + bom + "x\n"), 100, 10)) {
      assertThat(new String(reader.next().bytes(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
      assertThat(new String(reader.next().bytes(), StandardCharsets.UTF_8)).isEqualTo(bom + "x");
      assertThat(reader.next()).isNull();
    }
    try (BoundedLineReader reader = new BoundedLineReader(bytes(bom), 100, 10)) {
      assertThat(reader.next()).as("a file of only a byte order mark is empty").isNull();
    }
    try (BoundedLineReader reader = new BoundedLineReader(bytes("ab"), 100, 10)) {
      assertThat(new String(reader.next().bytes(), StandardCharsets.UTF_8)).isEqualTo("ab");
      assertThat(reader.next()).isNull();
    }
  }
}
