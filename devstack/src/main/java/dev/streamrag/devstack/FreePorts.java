package dev.streamrag.devstack;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** The first loopback port of a range nobody listens on. */
final class FreePorts {
  private FreePorts() {}

  static int firstFree(int from, int to) {
    for (int port = from; port <= to; port++) {
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return port;
      } catch (IOException taken) {
        // next
      }
    }
    throw new IllegalStateException("no free port in " + from + "-" + to);
  }
}
