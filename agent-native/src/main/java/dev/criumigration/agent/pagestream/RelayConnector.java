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
  public static Socket connect(String host, int port, RelayTls tls, PageCompression compression, Duration timeout)
      throws IOException {
    Socket plain = new Socket();
    try {
      long deadline = System.nanoTime() + timeout.toNanos();
      plain.setTcpNoDelay(true);
      plain.connect(new InetSocketAddress(host, port), (int) Math.max(1, timeout.toMillis()));
      Socket socket = tls == null ? plain : tls.client(plain, host, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      StreamHeader header = new StreamHeader(compression);
      header.writeTo(socket.getOutputStream());
      socket.setSoTimeout((int) Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis()));
      if (!StreamHeader.readFrom(socket.getInputStream()).equals(header)) {
        throw new java.net.ProtocolException("the page server's agent answered with another stream header");
      }
      socket.setSoTimeout(0);  // answers come when CRIU asks; stalled writes are watched by the relay
      return socket;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }
}
