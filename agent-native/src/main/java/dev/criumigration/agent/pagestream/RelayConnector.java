package dev.criumigration.agent.pagestream;

import dev.criumigration.agent.protocol.PageCompression;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/** The dumping side of a relay: connects to the page server's agent, authenticates, sends the stream header. */
public final class RelayConnector {
  private RelayConnector() {}

  /**
   * @param tls null: plain TCP
   * @throws javax.net.ssl.SSLException the TLS handshake failed (certificates of another CA, a plain peer)
   */
  public static RelayWire connect(String host, int port, RelayTls tls, PageCompression compression, Duration timeout)
      throws IOException {
    Socket plain = new Socket();
    try {
      long deadline = System.nanoTime() + timeout.toNanos();
      plain.setTcpNoDelay(true);
      plain.connect(new InetSocketAddress(host, port), (int) Math.max(1, timeout.toMillis()));
      // The handshake and the header's echo within what is left.
      plain.setSoTimeout((int) Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis()));
      RelayWire wire = tls == null ? RelayWire.plain(plain) : tls.client(plain, host);
      StreamHeader header = new StreamHeader(compression);
      header.writeTo(wire.out());
      if (!StreamHeader.readFrom(wire.in()).equals(header)) {
        throw new java.net.ProtocolException("the page server's agent answered with another stream header");
      }
      wire.setReadTimeout(0);  // answers come when CRIU asks; stalled writes are watched by the relay
      return wire;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }
}
