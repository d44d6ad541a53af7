package dev.streamrag.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on 127.0.0.1 in front of one server, for fault tests: switched at run time between
 * passing bytes ({@link Mode#FORWARD}), a server that hangs or a network partition that resets
 * nothing ({@link Mode#BLACKHOLE}), and a stopped server ({@link Mode#REFUSE}). Clients are pointed
 * at {@link #port()} instead of the server's port.
 *
 * <p>Plain blocking sockets on daemon threads (an acceptor, and two pumps per forwarded
 * connection): fault tests open a handful of connections, and a blocked read is exactly the
 * behaviour being modelled. {@link #close()} closes every socket, which ends every thread.
 */
public final class BlackholeProxy implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlackholeProxy.class);
  private static final int BUFFER_BYTES = 16 * 1024;

  /** What the proxy does with connections, new and existing. */
  public enum Mode {
    /** Bytes pass both ways; held bytes of existing connections are delivered. */
    FORWARD,
    /**
     * New connections are accepted and read, and never answered nor forwarded. Existing connections
     * stop forwarding in both directions, without reset: each pump holds what it read (so the
     * peers' socket buffers fill, as in a partition) and delivers it on a switch back to FORWARD.
     * Connections accepted while blackholed stay silent until they are closed. (The mode counts
     * when the proxy accepts a connection, a moment after the client's connect returns.)
     */
    BLACKHOLE,
    /**
     * Nothing listens (a connect is refused, as with a stopped server) and existing connections are
     * reset. Switching away listens again on the same port.
     */
    REFUSE
  }

  private final String targetHost;
  private final int targetPort;
  private final int port;
  private final Object lock = new Object();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicLong accepted = new AtomicLong();
  private ServerSocket listener; // guarded by lock; null while refusing
  private volatile Mode mode;
  private volatile boolean closed;

  private BlackholeProxy(String targetHost, int targetPort, Mode mode) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.mode = mode;
    ServerSocket first = bind(0);
    this.port = first.getLocalPort();
    if (mode == Mode.REFUSE) {
      first.close();
    } else {
      listen(first);
    }
  }

  /** Starts a proxy to {@code targetHost:targetPort} that forwards. */
  public static BlackholeProxy start(String targetHost, int targetPort) {
    return start(targetHost, targetPort, Mode.FORWARD);
  }

  /** Starts a proxy to {@code targetHost:targetPort} in {@code mode}. */
  public static BlackholeProxy start(String targetHost, int targetPort, Mode mode) {
    Objects.requireNonNull(targetHost, "targetHost is required but not provided.");
    Objects.requireNonNull(mode, "mode is required but not provided.");
    if (targetPort < 1 || targetPort > 65_535) {
      throw new IllegalArgumentException("targetPort must be 1..65535, got " + targetPort);
    }
    try {
      return new BlackholeProxy(targetHost, targetPort, mode);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on a loopback port", e);
    }
  }

  /** The loopback port clients connect to; the same in every mode. */
  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:port}. */
  public String address() {
    return "127.0.0.1:" + port;
  }

  public Mode mode() {
    return mode;
  }

  /** Connections accepted since the start, in any mode. */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** Client connections open now (forwarded or blackholed). */
  public int openConnections() {
    return connections.size();
  }

  /**
   * Switches to {@code next}, for new and existing connections alike (see {@link Mode}). Returns
   * once the switch holds: after a switch to REFUSE no connect succeeds, and after a switch away
   * from it the port listens again.
   */
  public void setMode(Mode next) {
    Objects.requireNonNull(next, "mode");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the proxy on " + address() + " is closed");
      }
      Mode previous = mode;
      mode = next;
      if (next == Mode.REFUSE) {
        closeQuietly(listener);
        listener = null;
        new ArrayList<>(connections).forEach(Connection::reset);
      } else if (previous == Mode.REFUSE) {
        try {
          listen(bind(port));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot listen on " + address() + " again", e);
        }
      }
      lock.notifyAll(); // held pumps look at the mode again
    }
    LOG.info("Proxy {} -> {}:{} is now {}", address(), targetHost, targetPort, next);
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket socket = new ServerSocket();
    socket.setReuseAddress(true); // rebinding after REFUSE must not wait out TIME_WAIT
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
    return socket;
  }

  private void listen(ServerSocket socket) {
    listener = socket;
    daemon("accept", () -> acceptLoop(socket)).start();
  }

  private void acceptLoop(ServerSocket socket) {
    while (!socket.isClosed()) {
      Socket client;
      try {
        client = socket.accept();
      } catch (IOException e) {
        return; // closed by REFUSE or close()
      }
      accepted.incrementAndGet();
      Connection connection = new Connection(client);
      connections.add(connection);
      if (closed || mode == Mode.REFUSE) {
        connection.reset();
      } else if (mode == Mode.BLACKHOLE) {
        daemon("swallow", connection::swallow).start();
      } else {
        daemon("connect", connection::forward).start();
      }
    }
  }

  private Thread daemon(String role, Runnable body) {
    Thread thread = new Thread(body, "blackhole-proxy-" + port + "-" + role);
    thread.setDaemon(true);
    return thread;
  }

  /** Stops listening and closes every connection; every thread of the proxy then ends. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      closeQuietly(listener);
      listener = null;
      lock.notifyAll();
    }
    new ArrayList<>(connections).forEach(Connection::close);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      // already closed or broken: either way it is gone
    }
  }

  /** One client connection and, when forwarded, its connection to the target. */
  private final class Connection {
    private final Socket client;
    private volatile Socket upstream;

    Connection(Socket client) {
      this.client = client;
    }

    /** Reads and drops whatever the client sends, answering nothing, until it goes away. */
    void swallow() {
      byte[] buffer = new byte[BUFFER_BYTES];
      try (InputStream in = client.getInputStream()) {
        while (in.read(buffer) >= 0) {
          // the black hole
        }
      } catch (IOException e) {
        // closed or reset
      } finally {
        close();
      }
    }

    void forward() {
      try {
        Socket target = new Socket();
        upstream = target;
        target.connect(new InetSocketAddress(targetHost, targetPort), 5_000);
        target.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
      } catch (IOException e) {
        LOG.debug("Proxy {} cannot reach {}:{}: {}", address(), targetHost, targetPort, e);
        reset(); // as a client of a dead server would see it
        return;
      }
      Socket target = upstream;
      daemon("up", () -> pump(client, target)).start();
      pump(target, client);
    }

    /**
     * Copies {@code from} to {@code to}, holding each chunk while the proxy is blackholed. When
     * either side ends, both do: a half-closed proxied connection helps no test.
     */
    private void pump(Socket from, Socket to) {
      byte[] buffer = new byte[BUFFER_BYTES];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        int read;
        while ((read = in.read(buffer)) >= 0) {
          if (!awaitForwarding()) {
            return;
          }
          out.write(buffer, 0, read);
          out.flush();
        }
      } catch (SocketException e) {
        // closed or reset by a peer, REFUSE or close()
      } catch (IOException e) {
        LOG.debug("Proxy {} pump ended: {}", address(), e.toString());
      } finally {
        close();
      }
    }

    /** Waits while blackholed; false when the connection is to end instead. */
    private boolean awaitForwarding() {
      synchronized (lock) {
        while (mode == Mode.BLACKHOLE && !closed && !client.isClosed()) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
        return mode == Mode.FORWARD && !closed && !client.isClosed();
      }
    }

    /** Closes with a TCP reset (SO_LINGER 0), as a stopped server's host answers. */
    void reset() {
      for (Socket socket : new Socket[] {client, upstream}) {
        if (socket != null && !socket.isClosed()) {
          try {
            socket.setSoLinger(true, 0);
          } catch (SocketException e) {
            // closing anyway
          }
        }
      }
      close();
    }

    void close() {
      connections.remove(this);
      closeQuietly(client);
      closeQuietly(upstream);
      synchronized (lock) {
        lock.notifyAll(); // a pump held for this connection ends
      }
    }
  }
}
