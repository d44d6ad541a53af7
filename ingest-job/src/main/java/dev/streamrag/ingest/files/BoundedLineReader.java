package dev.streamrag.ingest.files;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads lines of bytes from a stream, holding at most {@code maxLineBytes} of a line in memory: a
 * longer line is read to its end and returned as too long, with its first {@code keepBytes} and its
 * full length. A JSONL file with a line of gigabytes is read in constant memory. A line break is LF
 * or CRLF (the CR is not part of the line, nor counted toward the limit), and a UTF-8 byte order
 * mark that starts the stream is skipped.
 */
final class BoundedLineReader implements Closeable {
  private static final int READ_BYTES = 64 * 1024;
  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

  /**
   * One line without its line break. When {@code tooLong}, {@code bytes} is only the line's start
   * and {@code length} its full length in bytes.
   */
  record Line(byte[] bytes, long length, boolean tooLong) {}

  private final InputStream in;
  private final int maxLineBytes;
  private final int keepBytes;
  private final byte[] chunk = new byte[READ_BYTES];
  private int position;
  private int limit;
  private boolean eof;
  private boolean started;

  BoundedLineReader(InputStream in, int maxLineBytes, int keepBytes) {
    this.in = in;
    this.maxLineBytes = maxLineBytes;
    this.keepBytes = Math.min(keepBytes, maxLineBytes);
  }

  /** The next line, or null at the end of the stream. */
  Line next() throws IOException {
    if (!started) {
      started = true;
      skipByteOrderMark();
    }
    // One byte over the limit is held while the line may still end in the '\r' of a CRLF, which
    // is not part of the line: a CRLF line of exactly maxLineBytes is within the limit.
    int hold = maxLineBytes == Integer.MAX_VALUE ? maxLineBytes : maxLineBytes + 1;
    byte[] line = new byte[256];
    int size = 0;
    long length = 0;
    boolean tooLong = false;
    int last = -1; // the line's last byte so far, kept even when the line is not
    while (true) {
      if (position == limit) {
        if (eof || !fill()) {
          return length == 0 && !tooLong && size == 0
              ? null
              : finish(line, size, length, tooLong, last);
        }
      }
      int end = position;
      while (end < limit && chunk[end] != '\n') {
        end++;
      }
      int count = end - position;
      if (count > 0) {
        last = chunk[end - 1];
      }
      length += count;
      if (!tooLong && length > hold) {
        tooLong = true;
        size = Math.min(size, keepBytes);
      }
      int room = (tooLong ? keepBytes : hold) - size;
      int copy = Math.min(count, Math.max(0, room));
      if (copy > 0) {
        if (size + copy > line.length) {
          line = Arrays.copyOf(line, Math.max(size + copy, Math.min(line.length * 2, hold)));
        }
        System.arraycopy(chunk, position, line, size, copy);
        size += copy;
      }
      position = end;
      if (end < limit) { // at a line break
        position++;
        return finish(line, size, length, tooLong, last);
      }
    }
  }

  /** Skips a UTF-8 byte order mark at the start of the stream: it is not part of the first line. */
  private void skipByteOrderMark() throws IOException {
    int read = in.readNBytes(chunk, 0, BOM.length);
    position = 0;
    limit = read;
    if (read == BOM.length && Arrays.equals(chunk, 0, read, BOM, 0, read)) {
      position = read;
    }
  }

  private boolean fill() throws IOException {
    int read = in.read(chunk, 0, chunk.length);
    if (read <= 0) {
      eof = true;
      position = limit = 0;
      return false;
    }
    position = 0;
    limit = read;
    return true;
  }

  private Line finish(byte[] line, int size, long length, boolean tooLong, int last) {
    if (last == '\r') {
      length--; // a CRLF line break
      if (!tooLong) {
        size--;
      }
    }
    if (!tooLong && length > maxLineBytes) {
      tooLong = true;
      size = Math.min(size, keepBytes);
    }
    return new Line(Arrays.copyOf(line, size), length, tooLong);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
