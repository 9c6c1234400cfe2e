package dev.criumigration.agent.pagestream;

import dev.criumigration.agent.protocol.PageCompression;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;

/**
 * The first 8 bytes the dumping agent sends on a relay connection, inside TLS when there is TLS: the
 * magic "CRPS", the version, the stream's compression and two reserved bytes. A peer that sends
 * anything else is not a relay. The page server's agent answers with the same 8 bytes once it took
 * the connection: in TLS 1.3 the client learns only then that its certificate was accepted, so the
 * dumping side knows before CRIU freezes anything.
 */
record StreamHeader(PageCompression compression) {
  private static final byte[] MAGIC = {'C', 'R', 'P', 'S'};
  private static final int VERSION = 1;

  void writeTo(OutputStream out) throws IOException {
    out.write(new byte[] {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, (byte) compression.getNumber(), 0, 0});
    out.flush();
  }

  static StreamHeader readFrom(InputStream in) throws IOException {
    byte[] header = new byte[8];
    new DataInputStream(in).readFully(header);
    for (int i = 0; i < MAGIC.length; i++) {
      if (header[i] != MAGIC[i]) {
        throw new ProtocolException("the peer is not a criu-agent page relay");
      }
    }
    if (header[4] != VERSION) {
      throw new ProtocolException("the peer speaks page relay version " + header[4] + ", this agent " + VERSION
          + ": deploy the same agent build on both hosts");
    }
    PageCompression compression = PageCompression.forNumber(header[5]);
    if (compression == null) {
      throw new ProtocolException("the peer's page stream uses an unknown compression (" + header[5] + ")");
    }
    return new StreamHeader(compression);
  }
}
