package dev.streamrag.gateway.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BufferedClientWriterTest {
  @Test
  void writesThroughWhileTheConnectionKeepsUp() {
    RecordingResponse channel = new RecordingResponse();
    channel.beginEventStream();
    BufferedClientWriter writer = new BufferedClientWriter(channel, 100);
    assertThat(writer.write("a")).isTrue();
    assertThat(writer.write("b")).isTrue();
    writer.end("z");
    assertThat(channel.written()).isEqualTo("abz");
    assertThat(channel.ended).isTrue();
  }

  @Test
  void holdsWritesWhileFullAndFlushesThemInOrderOnDrain() {
    RecordingResponse channel = new RecordingResponse();
    channel.beginEventStream();
    BufferedClientWriter writer = new BufferedClientWriter(channel, 100);
    writer.write("a");
    channel.full = true;
    writer.write("b");
    writer.write("c");
    writer.end("END");
    assertThat(channel.written()).isEqualTo("a");
    assertThat(writer.bufferedBytes()).isEqualTo(2);
    assertThat(channel.ended).isFalse();

    channel.full = false;
    channel.drain();
    assertThat(channel.written()).isEqualTo("abcEND");
    assertThat(channel.ended).isTrue();
    assertThat(writer.bufferedBytes()).isZero();
  }

  @Test
  void aPartialDrainKeepsTheRestWaiting() {
    RecordingResponse channel = new RecordingResponse();
    channel.beginEventStream();
    BufferedClientWriter writer = new BufferedClientWriter(channel, 100);
    channel.full = true;
    writer.write("a");
    writer.write("b");
    channel.full = false;
    channel.fullAfterWrites = 1; // the queue fills again after one write
    channel.drain();
    assertThat(channel.written()).isEqualTo("a");
    channel.full = false;
    channel.drain();
    assertThat(channel.written()).isEqualTo("ab");
  }

  @Test
  void aClientTooFarBehindOverflowsAndNothingMoreIsWritten() {
    RecordingResponse channel = new RecordingResponse();
    channel.beginEventStream();
    BufferedClientWriter writer = new BufferedClientWriter(channel, 10);
    channel.full = true;
    assertThat(writer.write("12345")).isTrue();
    assertThat(writer.write("67890")).isTrue();
    assertThat(writer.write("x")).as("11 bytes > cap of 10").isFalse();
    assertThat(writer.overflowed()).isTrue();
    assertThat(writer.bufferedBytes()).as("memory released").isZero();
    channel.full = false;
    channel.drain();
    assertThat(writer.write("y")).isFalse();
    writer.end("z");
    assertThat(channel.written()).isEmpty();
    assertThat(channel.ended).isFalse();
  }

  @Test
  void tellsWhenTheResponseReallyEnded() {
    RecordingResponse channel = new RecordingResponse();
    channel.beginEventStream();
    BufferedClientWriter writer = new BufferedClientWriter(channel, 100);
    int[] ended = new int[1];
    writer.onEnded(() -> ended[0]++);
    writer.write("a");
    channel.full = true;
    writer.write("b");
    writer.end("END");
    assertThat(writer.ending()).isTrue();
    assertThat(ended[0]).as("not while the client lags").isZero();
    channel.full = false;
    channel.drain();
    assertThat(ended[0]).isEqualTo(1);
    assertThat(writer.ending()).isFalse();
  }

  @Test
  void countsUtf8Bytes() {
    assertThat(BufferedClientWriter.utf8Length("aé€🚀")).isEqualTo(1 + 2 + 3 + 4);
  }
}
