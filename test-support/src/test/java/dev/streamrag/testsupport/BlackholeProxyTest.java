package dev.streamrag.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamrag.testsupport.BlackholeProxy.Mode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The proxy in front of a real echo server (a {@link ServerSocket} that writes back what it reads),
 * in each mode and across switches. "Never answers" is asserted as no byte within a read timeout;
 * every wait is bounded.
 */
@Timeout(60)
class BlackholeProxyTest {
  private static final int SILENCE_MILLIS = 400;

  private ServerSocket echo;
  private final AtomicInteger echoConnections = new AtomicInteger();
  private BlackholeProxy proxy;

  @BeforeEach
  void startEchoServer() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket socket = echo.accept();
                  echoConnections.incrementAndGet();
                  Thread worker = new Thread(() -> echoBack(socket), "echo");
                  worker.setDaemon(true);
                  worker.start();
                } catch (IOException e) {
                  return;
                }
              }
            },
            "echo-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    proxy = BlackholeProxy.start("127.0.0.1", echo.getLocalPort());
  }

  private static void echoBack(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      byte[] buffer = new byte[1024];
      int read;
      while ((read = in.read(buffer)) >= 0) {
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()), 2_000);
    socket.setSoTimeout(5_000);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
  }

  /** Reads exactly {@code length} bytes, within the socket's timeout. */
  private static String receive(Socket socket, int length) throws IOException {
    byte[] bytes = socket.getInputStream().readNBytes(length);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static void assertSilent(Socket socket) throws IOException {
    socket.setSoTimeout(SILENCE_MILLIS);
    assertThatThrownBy(() -> socket.getInputStream().read())
        .as("no answer")
        .isInstanceOf(SocketTimeoutException.class);
    socket.setSoTimeout(5_000);
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void forwardPassesBytesBothWays() throws IOException {
    try (Socket socket = connect()) {
      send(socket, "hello");
      assertThat(receive(socket, 5)).isEqualTo("hello");
      send(socket, "again");
      assertThat(receive(socket, 5)).isEqualTo("again");
    }
    assertThat(proxy.acceptedConnections()).isEqualTo(1);
    assertThat(echoConnections.get()).isEqualTo(1);
  }

  @Test
  void blackholeAcceptsAndReadsNewConnectionsButNeverAnswersNorForwards() throws IOException {
    proxy.setMode(Mode.BLACKHOLE);
    try (Socket socket = connect()) {
      // More than the socket buffers hold: the proxy really reads, or this write would block.
      byte[] lots = new byte[4 * 1024 * 1024];
      socket.getOutputStream().write(lots);
      socket.getOutputStream().flush();
      assertSilent(socket);
    }
    assertThat(proxy.acceptedConnections()).isEqualTo(1);
    assertThat(echoConnections.get()).as("nothing reached the server").isZero();
  }

  @Test
  void blackholeHoldsExistingConnectionsWithoutResetAndForwardDeliversWhatWasHeld()
      throws Exception {
    try (Socket socket = connect()) {
      send(socket, "one");
      assertThat(receive(socket, 3)).isEqualTo("one");

      proxy.setMode(Mode.BLACKHOLE);
      send(socket, "two");
      assertSilent(socket);
      assertThat(socket.isClosed()).isFalse();

      proxy.setMode(Mode.FORWARD);
      assertThat(receive(socket, 3)).as("held, then delivered").isEqualTo("two");
      send(socket, "three");
      assertThat(receive(socket, 5)).isEqualTo("three");
    }
  }

  @Test
  void connectionsAcceptedWhileBlackholedStaySilentAfterForwardResumes() throws Exception {
    proxy.setMode(Mode.BLACKHOLE);
    try (Socket silent = connect()) {
      send(silent, "lost");
      // The kernel completes a connect before the proxy accepts it; the mode counts at accept.
      await(() -> proxy.acceptedConnections() == 1, "the connection accepted");
      proxy.setMode(Mode.FORWARD);
      assertSilent(silent);
      try (Socket fresh = connect()) {
        send(fresh, "new");
        assertThat(receive(fresh, 3)).as("new connections are forwarded").isEqualTo("new");
      }
    }
  }

  @Test
  void refuseResetsExistingConnectionsAndRefusesNewOnesUntilSwitchedBack() throws Exception {
    try (Socket existing = connect()) {
      send(existing, "hi");
      assertThat(receive(existing, 2)).isEqualTo("hi");

      proxy.setMode(Mode.REFUSE);
      assertThat(endOfStreamOrReset(existing)).as("the connection is gone").isTrue();
      assertThatThrownBy(this::connect).isInstanceOf(ConnectException.class);

      proxy.setMode(Mode.FORWARD);
      try (Socket again = connect()) {
        send(again, "back");
        assertThat(receive(again, 4)).isEqualTo("back");
      }
    }
    assertThat(proxy.port()).as("the same port throughout").isPositive();
    await(() -> proxy.openConnections() == 0, "connections closed");
  }

  @Test
  void aProxyStartedRefusingListensOnceSwitched() throws IOException {
    try (BlackholeProxy refusing =
        BlackholeProxy.start("127.0.0.1", echo.getLocalPort(), Mode.REFUSE)) {
      assertThat(Ports.isListening(refusing.port())).isFalse();
      refusing.setMode(Mode.FORWARD);
      assertThat(Ports.isListening(refusing.port())).isTrue();
    }
  }

  @Test
  void aDeadTargetResetsTheClient() throws Exception {
    int nobody = Ports.freePort();
    try (BlackholeProxy toNowhere = BlackholeProxy.start("127.0.0.1", nobody);
        Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), toNowhere.port()));
      socket.setSoTimeout(5_000);
      assertThat(endOfStreamOrReset(socket)).isTrue();
    }
  }

  @Test
  void closeEndsEveryConnectionAndThread() throws Exception {
    Socket forwarded = connect();
    send(forwarded, "x");
    assertThat(receive(forwarded, 1)).isEqualTo("x");
    proxy.setMode(Mode.BLACKHOLE);
    Socket held = forwarded;
    send(held, "held");
    Socket swallowed = connect();
    await(() -> proxy.acceptedConnections() == 2, "second connection accepted");
    int port = proxy.port();

    proxy.close();

    assertThat(endOfStreamOrReset(forwarded)).isTrue();
    assertThat(endOfStreamOrReset(swallowed)).isTrue();
    assertThat(Ports.isListening(port)).isFalse();
    await(
        () ->
            Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("blackhole-proxy-" + port + "-")),
        "every proxy thread ended");
    assertThat(proxy.openConnections()).isZero();
    assertThatThrownBy(() -> proxy.setMode(Mode.FORWARD)).isInstanceOf(IllegalStateException.class);
    forwarded.close();
    swallowed.close();
  }

  /** True when the peer closed or reset the connection (within the socket's read timeout). */
  private static boolean endOfStreamOrReset(Socket socket) throws IOException {
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketException e) {
      return true; // "Connection reset"
    }
  }
}
