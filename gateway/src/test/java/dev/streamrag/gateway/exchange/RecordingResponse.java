package dev.streamrag.gateway.exchange;

import dev.streamrag.gateway.openai.ApiError;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ClientResponse} that records what was sent; its queue is full when a test says so. It
 * fails the test if a status is set after the event stream began, or twice.
 */
final class RecordingResponse implements ClientResponse {
  final List<String> writes = new ArrayList<>();
  boolean full;
  int fullAfterWrites = -1;
  boolean ended;
  boolean aborted;
  boolean streamBegun;
  int status;
  String body;
  ApiError error;
  private Runnable drainHandler = () -> {};

  String written() {
    return String.join("", writes);
  }

  void drain() {
    drainHandler.run();
  }

  private void statusOnce() {
    if (status != 0) {
      throw new AssertionError("a status was set after status " + status + " was sent");
    }
  }

  @Override
  public void sendJson(String json) {
    statusOnce();
    this.status = 200;
    this.body = json;
    ended = true;
  }

  @Override
  public void sendError(ApiError error) {
    statusOnce();
    this.status = error.status();
    this.error = error;
    this.body = error.toJson().toString();
    ended = true;
  }

  @Override
  public void beginEventStream() {
    statusOnce();
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
    if (!streamBegun) {
      throw new AssertionError("written before the stream began: " + data);
    }
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
