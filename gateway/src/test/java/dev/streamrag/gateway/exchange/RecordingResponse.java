package dev.streamrag.gateway.exchange;

import java.util.ArrayList;
import java.util.List;

/** A {@link ClientResponse} that records what was sent; its queue is full when a test says so. */
final class RecordingResponse implements ClientResponse {
  final List<String> writes = new ArrayList<>();
  boolean full;
  int fullAfterWrites = -1;
  boolean ended;
  boolean aborted;
  boolean streamBegun;
  int status;
  String body;
  private Runnable drainHandler = () -> {};

  String written() {
    return String.join("", writes);
  }

  void drain() {
    drainHandler.run();
  }

  @Override
  public void sendJson(int status, String json) {
    this.status = status;
    this.body = json;
    ended = true;
  }

  @Override
  public void beginEventStream() {
    status = 200;
    streamBegun = true;
  }

  @Override
  public boolean writeQueueFull() {
    return full;
  }

  @Override
  public void drainHandler(Runnable onDrain) {
    drainHandler = onDrain;
  }

  @Override
  public void write(String data) {
    writes.add(data);
    if (fullAfterWrites > 0 && --fullAfterWrites == 0) {
      full = true;
      fullAfterWrites = -1;
    }
  }

  @Override
  public void end(String data) {
    writes.add(data);
    ended = true;
  }

  @Override
  public void abort() {
    aborted = true;
  }
}
