package dev.streamrag.gateway.exchange;

import java.util.ArrayDeque;
import java.util.Objects;

/**
 * Writes to one client without letting a slow reader hold anything else up: while the connection's
 * outbound queue is full, writes wait here (in order) instead of growing Netty's buffers, and are
 * flushed when it drains. A client that falls more than {@code maxBufferedBytes} behind is cut off:
 * {@link #write} returns false and the caller drops the connection, so one stalled reader costs at
 * most that much memory and never delays the pieces consumer or other streams.
 *
 * <p>{@link #end} may have to wait for the client to read what is queued; {@link #onEnded} learns
 * when the response was really ended, which is when its memory is released.
 */
public final class BufferedClientWriter {
  private final ClientChannel channel;
  private final long maxBufferedBytes;
  private final ArrayDeque<String> waiting = new ArrayDeque<>();
  private long waitingBytes;
  private String endData;
  private boolean ended;
  private boolean endWritten;
  private boolean overflowed;
  private Runnable onEnded = () -> {};

  public BufferedClientWriter(ClientChannel channel, long maxBufferedBytes) {
    this.channel = Objects.requireNonNull(channel, "channel");
    if (maxBufferedBytes < 1) {
      throw new IllegalArgumentException("maxBufferedBytes must be positive: " + maxBufferedBytes);
    }
    this.maxBufferedBytes = maxBufferedBytes;
    channel.drainHandler(this::drain);
  }

  /** Runs once when the response is ended, after all that was queued before it. */
  public void onEnded(Runnable onEnded) {
    this.onEnded = Objects.requireNonNull(onEnded, "onEnded");
  }

  /**
   * Writes {@code data} now or, while the connection is backed up, later.
   *
   * @return false if the client is too far behind (the caller should drop it); nothing is written
   *     any more then
   */
  public boolean write(String data) {
    if (overflowed || ended) {
      return !overflowed;
    }
    if (waiting.isEmpty() && !channel.writeQueueFull()) {
      channel.write(data);
      return true;
    }
    waiting.add(data);
    waitingBytes += utf8Length(data);
    if (waitingBytes > maxBufferedBytes) {
      overflowed = true;
      waiting.clear();
      waitingBytes = 0;
      return false;
    }
    return true;
  }

  /** Ends the response after everything written so far, with {@code data} last. */
  public void end(String data) {
    if (overflowed || ended) {
      return;
    }
    ended = true;
    if (waiting.isEmpty()) {
      endNow(data);
    } else {
      endData = data;
    }
  }

  /** Whether {@link #end} was called and the response is not ended yet: the client lags. */
  public boolean ending() {
    return ended && !endWritten && !overflowed;
  }

  private void endNow(String data) {
    endWritten = true;
    channel.end(data);
    onEnded.run();
  }

  /** Bytes waiting for the connection to drain. */
  public long bufferedBytes() {
    return waitingBytes;
  }

  public boolean overflowed() {
    return overflowed;
  }

  private void drain() {
    while (!waiting.isEmpty() && !channel.writeQueueFull()) {
      String data = waiting.poll();
      waitingBytes -= utf8Length(data);
      channel.write(data);
    }
    if (waiting.isEmpty() && endData != null) {
      String last = endData;
      endData = null;
      endNow(last);
    }
  }

  /** The UTF-8 size of {@code text}, without encoding it. */
  static long utf8Length(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
