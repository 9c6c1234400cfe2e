package dev.criumigration.agent.pagestream;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketAddress;

/**
 * One relay connection between two agents: a byte stream each way over one TCP socket, in plain text
 * or through TLS ({@link TlsStreams}). One thread reads while another writes.
 */
public final class RelayWire implements Closeable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final boolean tls;

  private RelayWire(Socket socket, InputStream in, OutputStream out, boolean tls) {
    this.socket = socket;
    this.in = in;
    this.out = out;
    this.tls = tls;
  }

  static RelayWire plain(Socket socket) throws IOException {
    return new RelayWire(socket, socket.getInputStream(), socket.getOutputStream(), false);
  }

  static RelayWire tls(Socket socket, TlsStreams streams) {
    return new RelayWire(socket, streams.in(), streams.out(), true);
  }

  public InputStream in() {
    return in;
  }

  public OutputStream out() {
    return out;
  }

  public boolean isTls() {
    return tls;
  }

  public SocketAddress remote() {
    return socket.getRemoteSocketAddress();
  }

  /** For the handshake and the header: a read that waits longer fails (0: wait for ever). */
  void setReadTimeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  /** Closes the socket: reads and writes blocked in other threads fail at once. */
  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closed either way
    }
  }
}
