package dev.criumigration.agent.pagestream;

import dev.criumigration.agent.protocol.PageCompression;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The page server's side of a relay: one listening socket bound to one address, which takes the
 * first peer that authenticates (TLS with the migration's certificates, when there are any) and
 * sends a relay's stream header, then stops listening. Peers that fail are dropped and logged; they
 * cannot take the stream's place.
 */
public final class RelayListener implements Closeable {
  private static final Duration PEER_HANDSHAKE_TIMEOUT = Duration.ofSeconds(15);

  private final ServerSocket server;
  private final RelayTls tls;

  private RelayListener(ServerSocket server, RelayTls tls) {
    this.server = server;
    this.tls = tls;
  }

  /** Listens on {@code address} (an IP literal) and {@code port} (0: any free one); {@code tls} null: plain. */
  public static RelayListener open(String address, int port, RelayTls tls) throws IOException {
    ServerSocket server = new ServerSocket();
    try {
      server.bind(new InetSocketAddress(InetAddress.getByName(address), port), 1);
    } catch (IOException e) {
      server.close();
      throw e;
    }
    return new RelayListener(server, tls);
  }

  public int port() {
    return server.getLocalPort();
  }

  /** An authenticated peer and the compression its stream uses. */
  public record Peer(RelayWire wire, PageCompression compression) {}

  /**
   * Waits for the relay's peer; stops listening once it is there.
   *
   * @throws SocketTimeoutException no peer authenticated within {@code timeout}
   * @throws IOException            the listener was closed (a cancel) or failed
   */
  public Peer accept(Duration timeout, Consumer<String> log) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (ServerSocket listening = server) {
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new SocketTimeoutException("no dump connected within " + timeout.toSeconds() + " s");
        }
        listening.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, Duration.ofNanos(left).toMillis())));
        Socket plain = listening.accept();
        try {
          plain.setTcpNoDelay(true);
          // The handshake and the header within this; then the stream may idle while CRIU freezes the
          // tree (stalled writes are watched by the relay).
          plain.setSoTimeout((int) Math.max(1, Math.min(left, PEER_HANDSHAKE_TIMEOUT.toNanos()) / 1_000_000));
          RelayWire wire = tls == null ? RelayWire.plain(plain) : tls.server(plain);
          StreamHeader header = StreamHeader.readFrom(wire.in());
          header.writeTo(wire.out());
          wire.setReadTimeout(0);
          return new Peer(wire, header.compression());
        } catch (IOException e) {
          log.accept("refused a page stream connection from " + plain.getRemoteSocketAddress() + ": " + e.getMessage());
          plain.close();
        }
      }
    }
  }

  /** Stops listening; an accept waiting in another thread fails at once. */
  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // closed either way
    }
  }
}
